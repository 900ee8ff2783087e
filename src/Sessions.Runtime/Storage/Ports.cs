using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Storage;

/// <summary>Workflows and their versions. Every read is scoped by tenant: another tenant's workflow does not exist.</summary>
public interface IWorkflowStore
{
    /// <summary>Stores a new workflow with its version 0. Returns false when the id is taken.</summary>
    Task<bool> CreateAsync(WorkflowDocument workflow, WorkflowVersionDocument firstVersion, CancellationToken cancellationToken);

    Task<WorkflowDocument?> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<Page<WorkflowDocument>> ListAsync(string tenantId, int page, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Appends version LatestVersion + 1 atomically (two concurrent uploads get two numbers) and activates it if asked.
    /// Returns the updated workflow, or null when it does not exist for this tenant.
    /// </summary>
    Task<WorkflowDocument?> AddVersionAsync(string tenantId, string workflowId, NewWorkflowVersion version, bool activate, CancellationToken cancellationToken);

    Task<WorkflowVersionDocument?> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken);

    /// <summary>The versions' headers, oldest first, without their definitions.</summary>
    Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken);
}

/// <summary>
/// Runs, their append-only events and their turns. A provider only stores documents and checks versions: who may
/// write a run when (leases, their expiry, idempotency) is decided by the runtime, over the documents' own fields.
/// </summary>
public interface IRunStore
{
    /// <summary>
    /// True when one server process owns the store (an embedded file): that process then keeps turns of one run apart
    /// in memory, and a turn costs one durable write. False when servers share it: each turn leases its run in the store.
    /// </summary>
    bool OwnedByOneProcess { get; }

    Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the tenant's stored run with <paramref name="run"/> if it is still at <paramref name="expectedVersion"/>;
    /// false, writing nothing, when it moved on or does not exist. How a lease is taken, renewed and given back.
    /// </summary>
    Task<bool> TryReplaceAsync(RunDocument run, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the run, its new events and the turn record in one transaction, if and only if the stored run still has
    /// <see cref="TurnCommit.ExpectedVersion"/> (or does not exist yet, for 0). Otherwise throws <see cref="StoreConflictException"/>
    /// and writes nothing.
    /// </summary>
    Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken);

    /// <summary>Events with seq greater than <paramref name="afterSeq"/>, in seq order.</summary>
    Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken);

    Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, CancellationToken cancellationToken);

    /// <summary>The tenant's runs matching <paramref name="query"/>, newest first, with the total count of matches.</summary>
    Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken);

    /// <summary>How many of the tenant's runs (of one workflow, when given) are in each status; absent statuses are 0.</summary>
    Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(string tenantId, string? workflowId, CancellationToken cancellationToken);

    /// <summary>Runs of any tenant in one of <paramref name="statuses"/> not updated since <paramref name="updatedBefore"/>, oldest first.</summary>
    Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken);
}

/// <summary>
/// Idempotency keys of execute requests, per tenant. A key is claimed before its turn runs; the turn's commit stores the
/// answer under the key in the same transaction (<see cref="TurnCommit.Answer"/>), so a committed turn always has its answer.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>
    /// Claims the key for this request unless it is held: answered and unexpired, or in flight under a live lease.
    /// An expired key, or an unanswered claim whose lease ran out (its server died), is claimed afresh.
    /// </summary>
    Task<IdempotencyClaimResult> ClaimAsync(IdempotencyClaim claim, DateTimeOffset now, CancellationToken cancellationToken);

    Task<bool> RenewAsync(string tenantId, string key, TurnLease lease, CancellationToken cancellationToken);

    /// <summary>Forgets an unanswered claim of this owner: the request was refused and wrote nothing, so a retry runs afresh.</summary>
    Task ReleaseAsync(string tenantId, string key, string owner, CancellationToken cancellationToken);

    /// <summary>Deletes keys past their retention; returns how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>A turn's exclusive hold on its run (or on its idempotency key) until <see cref="ExpiresAt"/>, renewed while the turn works.</summary>
public sealed record TurnLease(string Owner, DateTimeOffset ExpiresAt);

/// <summary>A request to hold <see cref="Key"/> for the request whose body hashes to <see cref="RequestHash"/>.</summary>
public sealed record IdempotencyClaim(string TenantId, string Key, string RequestHash, TurnLease Lease, DateTimeOffset RetainUntil);

public enum IdempotencyState
{
    /// <summary>This request holds the key now and must run its turn.</summary>
    Claimed,

    /// <summary>Another request with the key is still running.</summary>
    InFlight,

    /// <summary>A turn already answered under the key.</summary>
    Answered,
}

/// <summary>The key's state after a claim, with the stored request hash, and the answer or the in-flight lease's end.</summary>
public sealed record IdempotencyClaimResult(IdempotencyState State, string RequestHash, string? Answer, DateTimeOffset? LeaseExpiresAt);

/// <summary>The answer a turn gave under an idempotency key, stored by the turn's commit if the claim is still this owner's.</summary>
public sealed record IdempotentAnswer(string Key, string Owner, string Body);

/// <summary>Another writer committed first; nothing was written.</summary>
public sealed class StoreConflictException(string message) : Exception(message);
