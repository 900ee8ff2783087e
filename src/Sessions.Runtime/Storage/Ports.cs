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

/// <summary>Runs, their append-only events and their turns.</summary>
public interface IRunStore
{
    Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken);

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
}

/// <summary>Another writer committed first; nothing was written.</summary>
public sealed class StoreConflictException(string message) : Exception(message);
