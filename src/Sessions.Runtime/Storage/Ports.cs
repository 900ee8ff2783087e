using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Storage;

/// <summary>Workflows and their versions. Every read is scoped by tenant: another tenant's workflow does not exist.</summary>
public interface IWorkflowStore
{
    /// <summary>Stores a new workflow with its version 0. Returns false when the id is taken.</summary>
    Task<bool> CreateAsync(WorkflowDocument workflow, WorkflowVersionDocument firstVersion, CancellationToken cancellationToken);

    Task<WorkflowDocument?> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<Page<WorkflowDocument>> ListAsync(string tenantId, WorkflowQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the workflow deleted at <paramref name="at"/> unless it already is. Returns it as stored after, or null when
    /// it does not exist for this tenant.
    /// </summary>
    Task<WorkflowDocument?> DeleteAsync(string tenantId, string workflowId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Appends version LatestVersion + 1 atomically (two concurrent uploads get two numbers) and activates it if asked.
    /// Returns the updated workflow, or null when it does not exist for this tenant.
    /// </summary>
    Task<WorkflowDocument?> AddVersionAsync(string tenantId, string workflowId, NewWorkflowVersion version, bool activate, CancellationToken cancellationToken);

    Task<WorkflowVersionDocument?> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the stored <paramref name="version"/> the active one (<see cref="WorkflowDocument.Activated"/>), atomically
    /// with any upload racing it. Returns the updated workflow, or null when it does not exist for this tenant.
    /// </summary>
    Task<WorkflowDocument?> ActivateAsync(string tenantId, string workflowId, WorkflowVersionDocument version, DateTimeOffset at, CancellationToken cancellationToken, ForcedActivation? forced = null);

    /// <summary>The versions' headers, oldest first, without their definitions.</summary>
    Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken);
}

/// <summary>
/// Runs, their append-only events and their turns. A provider only stores documents and checks versions: who may
/// write a run when (leases, their expiry, idempotency) is decided by the runtime, over the documents' own fields.
/// </summary>
public interface IRunStore
{
    /// <summary>The database behind the store, as OpenTelemetry names it (`db.system.name`: sqlite, postgresql, mongodb).</summary>
    string DbSystem { get; }

    Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the tenant's stored run with <paramref name="run"/> if it is still at <paramref name="expectedVersion"/>.
    /// Otherwise writes nothing and gives back the run as it is stored now (null if the tenant has no such run), in the
    /// same round trip, so that a writer that read an old copy can decide again at once. How a lease is taken, renewed
    /// and given back (<see cref="WriteDurability.Provisional"/>), and how a run is changed outside a turn (<see cref="WriteDurability.Durable"/>).
    /// </summary>
    Task<ReplaceResult> TryReplaceAsync(RunDocument run, long expectedVersion, WriteDurability durability, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the run, its new events and the turn record (if any) in one transaction, if and only if the stored run still has
    /// <see cref="TurnCommit.ExpectedVersion"/> (or does not exist yet, for 0). Otherwise throws <see cref="StoreConflictException"/>
    /// and writes nothing.
    /// </summary>
    Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken);

    /// <summary>Events with seq greater than <paramref name="afterSeq"/>, in seq order.</summary>
    Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>At most <paramref name="limit"/> turn records numbered above <paramref name="afterTurn"/>, in turn order.</summary>
    Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken);

    /// <summary>The tenant's runs matching <paramref name="query"/>, newest first, with the total count of matches.</summary>
    Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken);

    /// <summary>How many of the tenant's runs (of one workflow, when given) are in each status; absent statuses are 0.</summary>
    Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(string tenantId, RunQuery query, CancellationToken cancellationToken);

    /// <summary>Runs of any tenant with work due at <paramref name="now"/> (<see cref="RunDocument.DueAt"/>), the earliest first.</summary>
    Task<IReadOnlyList<RunDocument>> ListDueWorkAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>How many runs of any tenant have work due at <paramref name="now"/> (a timer or a background turn).</summary>
    Task<long> CountDueWorkAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Runs of any tenant waiting for people (for input, or paused), counted by tenant, workflow and status; deleted ones left out.</summary>
    Task<IReadOnlyList<RunCount>> CountWaitingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs due to be erased: those whose <see cref="RunDocument.ExpiresAt"/> is at or before <paramref name="expiredBy"/>,
    /// and those deleted at or before <paramref name="deletedBy"/>; of one tenant, or of every tenant when
    /// <paramref name="tenantId"/> is null (the scheduled purge, which no caller asked for).
    /// </summary>
    Task<IReadOnlyList<RunDocument>> ListPurgeableAsync(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Erases the run with everything stored for it (its events, turns, labels, files, the answers stored under
    /// idempotency keys for it, its webhook deliveries) in one transaction, if it is still at <paramref name="run"/>'s version;
    /// false, erasing nothing, otherwise.
    /// </summary>
    Task<bool> PurgeAsync(RunDocument run, CancellationToken cancellationToken);

    /// <summary>Runs of any tenant in one of <paramref name="statuses"/> not updated since <paramref name="updatedBefore"/>, oldest first, deleted ones left out.</summary>
    Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken);
}

/// <summary>
/// Idempotency keys of execute requests, per tenant, as documents with a version. Who may claim a key when, and what a
/// retry is answered, is decided by the runtime (<see cref="Turns.IdempotencyKeys"/>); a turn's commit stores the
/// answer under its key in the same transaction (<see cref="TurnCommit.Answer"/>), so a committed turn always has it.
/// </summary>
public interface IIdempotencyStore
{
    Task<IdempotencyRecord?> GetAsync(string tenantId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="record"/> if the stored key is still at <paramref name="expectedVersion"/> (0: if there is
    /// none); false, writing nothing, otherwise. It claims a key or renews a claim, never stores an answer (the turn's
    /// commit does), so the write may be <see cref="WriteDurability.Provisional"/>: a claim lost with the store frees
    /// the key, and the commit that stores the answer makes the claim before it durable too.
    /// </summary>
    Task<bool> TryWriteAsync(IdempotencyRecord record, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the key if it is still at <paramref name="expectedVersion"/>; false otherwise.</summary>
    Task<bool> TryDeleteAsync(string tenantId, string key, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes keys whose retention ended at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>
/// The names other protocols give conversations (<see cref="ConversationLink"/>), per tenant and protocol.
/// A link names its run before the run exists, so every write here is about the name, never about the run.
/// </summary>
public interface IConversationStore
{
    Task<ConversationLink?> GetAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken);

    /// <summary>Stores the link unless its name is taken; returns the link stored under the name, this one or the earlier.</summary>
    Task<ConversationLink> AddAsync(ConversationLink link, CancellationToken cancellationToken);

    /// <summary>Replaces the link's metadata; false when there is no such link.</summary>
    Task<bool> SetMetadataAsync(string tenantId, string protocol, string externalId, System.Text.Json.Nodes.JsonObject metadata, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Removes the link; false when there was none.</summary>
    Task<bool> DeleteAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken);

    /// <summary>The protocol's links in the tenant (made by <paramref name="createdBy"/> when given), newest first.</summary>
    Task<IReadOnlyList<ConversationLink>> ListAsync(string tenantId, string protocol, string? createdBy, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Removes every link to these runs of the tenant (runs being purged); returns how many.</summary>
    Task<int> DeleteForRunsAsync(string tenantId, IReadOnlyList<string> runIds, CancellationToken cancellationToken);
}

/// <summary>
/// Webhook deliveries, as versioned documents: inserted by a turn's commit (<see cref="TurnCommit.Deliveries"/>), then
/// claimed, retried and settled by the runtime (<see cref="Webhooks.WebhookDispatcher"/>) through version-checked writes.
/// </summary>
public interface IWebhookStore
{
    /// <summary>Pending deliveries of any tenant due at <paramref name="now"/>, the earliest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>How many deliveries of any tenant are due at <paramref name="now"/>.</summary>
    Task<long> CountDueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="delivery"/> if the stored one is still at <paramref name="expectedVersion"/>; false otherwise.</summary>
    Task<bool> TryReplaceAsync(WebhookDelivery delivery, long expectedVersion, CancellationToken cancellationToken);

    Task<WebhookDelivery?> GetAsync(string tenantId, string deliveryId, CancellationToken cancellationToken);

    /// <summary>A run's deliveries, oldest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListForRunAsync(string tenantId, string runId, CancellationToken cancellationToken);
}

/// <summary>
/// The bytes of files sent with turns, in numbered pieces, and the files that committed turns made part of their run
/// (written by the turn's commit: <see cref="TurnCommit.Files"/>). Pieces of a file no turn committed are reachable by
/// no read, and are erased by their writer or, later, by the purge.
/// </summary>
public interface IFileStore
{
    Task InsertChunkAsync(string tenantId, string fileId, int index, ReadOnlyMemory<byte> data, DateTimeOffset at, CancellationToken cancellationToken);

    Task DeleteChunksAsync(string tenantId, string fileId, CancellationToken cancellationToken);

    /// <summary>The file, if a committed turn of this tenant's run made it the run's.</summary>
    Task<StoredFile?> GetAsync(string tenantId, string runId, string fileId, CancellationToken cancellationToken);

    Task<byte[]?> ReadChunkAsync(string tenantId, string fileId, int index, CancellationToken cancellationToken);

    /// <summary>
    /// Erases pieces written before <paramref name="before"/> of files that no run has, of one tenant or, when
    /// <paramref name="tenantId"/> is null, of every tenant; returns how many.
    /// </summary>
    Task<int> DeleteOrphanChunksAsync(string? tenantId, DateTimeOffset before, CancellationToken cancellationToken);
}

/// <summary>
/// An idempotency key as stored: the request that used it (<see cref="RequestHash"/>), the turn working under it now
/// (<see cref="Lease"/>, on a shared store) and, once that turn committed, the answer it gave.
/// </summary>
public sealed record IdempotencyRecord(
    string TenantId,
    string Key,
    string RequestHash,
    long Version,
    TurnLease? Lease,
    string? Answer,
    DateTimeOffset RetainUntil,
    DateTimeOffset CreatedAt)
{
    /// <summary>The run whose turn answered under the key, once it has: so that erasing the run erases the answer.</summary>
    public string? RunId { get; init; }
}

/// <summary>The key's record with its answer, written by the turn's commit if the stored key is still at <see cref="ExpectedVersion"/>.</summary>
public sealed record IdempotentAnswer(IdempotencyRecord Record, long ExpectedVersion)
{
    public string Body => Record.Answer!;
}

/// <summary>What a write must survive once its call returns.</summary>
public enum WriteDurability
{
    /// <summary>A crash of the store itself: the caller may tell a client it happened.</summary>
    Durable,

    /// <summary>
    /// Visible to every reader and writer at once, but it may be lost if the store itself crashes before its next durable
    /// write, which makes it durable too (a store's log is written in order). For a lease: losing it only frees the run,
    /// and the turn's commit, which is durable, still checks the version the lease wrote. So a turn waits for one flush
    /// of the store's log, not two.
    /// </summary>
    Provisional,
}

/// <summary>Whether a version-checked replace was written; if not, the run as it is stored instead.</summary>
public sealed record ReplaceResult(bool Written, RunDocument? Current)
{
    public static readonly ReplaceResult Done = new(true, null);
}

/// <summary>Another writer committed first; nothing was written.</summary>
public sealed class StoreConflictException(string message) : Exception(message);

public static class RunStoreExtensions
{
    /// <summary>Every turn record of a run (a fork's turn 0 included), for the few callers that need a run's whole history.</summary>
    public static Task<IReadOnlyList<TurnDocument>> GetAllTurnsAsync(this IRunStore runs, string tenantId, string runId, CancellationToken cancellationToken) =>
        runs.GetTurnsAsync(tenantId, runId, -1, int.MaxValue, cancellationToken);
}

/// <summary>How many of a tenant's runs of one workflow are in one status.</summary>
public sealed record RunCount(string TenantId, string WorkflowId, RunStatus Status, long Count);
