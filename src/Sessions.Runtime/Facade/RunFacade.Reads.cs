using Sessions.Runtime.History;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Facade;

/// <summary>The reads of runs, for support staff and dashboards: every one scoped, another's run a 404.</summary>
public sealed partial class RunFacade
{
    /// <summary>Turns in the first page of a run read, and in a page of turns unless asked otherwise.</summary>
    public const int DefaultTurnsPerPage = RunHistory.DefaultTurnsPerPage;

    public const int MaxTurnsPerPage = RunHistory.MaxTurnsPerPage;

    /// <summary>The runs the scope sees that match the query, newest first; a viewer asking for another's runs is refused.</summary>
    public Task<Page<RunSummary>> ListAsync(RunScope scope, RunQuery query, CancellationToken cancellationToken) =>
        history.ListAsync(scope, query, cancellationToken);

    /// <summary>Counts by status of the runs the query's filters match (its paging aside).</summary>
    public Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(RunScope scope, RunQuery query, CancellationToken cancellationToken) =>
        history.CountByStatusAsync(scope, query, cancellationToken);

    /// <summary>The workflow's id once it exists in the scope's tenant; else a 404.</summary>
    public Task<string> RequireWorkflowAsync(RunScope scope, string workflowId, CancellationToken cancellationToken) =>
        history.RequireWorkflowAsync(scope, workflowId, cancellationToken);

    /// <summary>The run, if the scope sees it; one it may not see is a 404 exactly like one that does not exist.</summary>
    public Task<RunDocument> GetRunAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        history.GetRunAsync(scope, runId, cancellationToken);

    /// <summary>The run if it exists and the scope sees it, else null.</summary>
    public Task<RunDocument?> FindRunAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        history.FindRunAsync(scope, runId, cancellationToken);

    /// <summary>The run with what it is doing now if it exists and the scope sees it, else null.</summary>
    public async Task<RunDetails?> FindDetailsAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        await history.FindRunAsync(scope, runId, cancellationToken) is null ? null : await history.GetDetailsAsync(scope, runId, cancellationToken);

    /// <summary>The run as support staff read it, with its workflow's name and what it is doing now.</summary>
    public Task<RunDetails> GetDetailsAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        history.GetDetailsAsync(scope, runId, cancellationToken);

    /// <summary>A page of the run's turns, handed to <paramref name="sink"/> as it is read (<see cref="RunHistory.ReadTurnPageAsync"/>).</summary>
    public Task<TurnPageEnd> ReadTurnPageAsync(RunDocument run, int afterTurn, int limit, ITurnPageSink sink, CancellationToken cancellationToken) =>
        history.ReadTurnPageAsync(run, afterTurn, limit, sink, cancellationToken);

    /// <summary>One turn with the run's state after it and the variables it changed.</summary>
    public Task<TurnDetails> GetTurnAsync(RunScope scope, string runId, int turnNumber, CancellationToken cancellationToken) =>
        history.GetTurnAsync(scope, runId, turnNumber, cancellationToken);

    /// <summary>The run's events after a seq, in order.</summary>
    public Task<IReadOnlyList<RunEvent>> GetEventsAsync(RunScope scope, string runId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        history.GetEventsAsync(scope, runId, afterSeq, limit, cancellationToken);

    /// <summary>Events of a run already read through the caller's scope, after a seq.</summary>
    public Task<IReadOnlyList<RunEvent>> ReadEventsAsync(RunDocument run, long afterSeq, int limit, CancellationToken cancellationToken) =>
        history.ReadEventsAsync(run, afterSeq, limit, cancellationToken);

    /// <summary>The run with its workflow's name, for a transcript.</summary>
    public Task<(RunDocument Run, string WorkflowName)> GetRunWithNameAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        history.GetRunWithNameAsync(scope, runId, cancellationToken);

    /// <summary>Every turn of a run already read through the caller's scope, in order, a page at a time.</summary>
    public IAsyncEnumerable<TurnRecord> ReadAllTurnsAsync(RunDocument run, CancellationToken cancellationToken) =>
        history.ReadAllTurnsAsync(run, cancellationToken);

    /// <summary>A file sent with one of the run's turns, if the scope sees the run.</summary>
    public Task<StoredFile> GetFileAsync(RunScope scope, string runId, string fileId, CancellationToken cancellationToken) =>
        files.GetAsync(scope, runId, fileId, cancellationToken);

    /// <summary>A file's bytes, a piece at a time.</summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadFileAsync(RunScope scope, StoredFile file, CancellationToken cancellationToken) =>
        files.ReadAsync(scope.TenantId, file, cancellationToken);
}
