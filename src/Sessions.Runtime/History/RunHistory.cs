using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.History;

/// <summary>Reads runs back for people and dashboards, and cancels them in bulk. Every read is scoped by tenant.</summary>
public sealed class RunHistory(IRunStore runs, IWorkflowStore workflows, TurnEngine engine, RunningTurns running, TimeProvider clock)
{
    /// <summary>Turns in the first page of a run read, and in a page of turns unless asked otherwise.</summary>
    public const int DefaultTurnsPerPage = 20;

    public const int MaxTurnsPerPage = 200;

    /// <summary>
    /// Events in one page of turns, in all: a read's memory is bounded by its page, however long the run. A turn whose
    /// events do not fit is the page's last, marked incomplete, and the rest of its events are read by seq.
    /// </summary>
    public const int MaxEventsPerPage = 1_000;

    public const int MaxCancelReasonLength = 500;

    /// <summary>The runs the scope sees that match the query, newest first; a viewer asking for another's runs is refused.</summary>
    public Task<Page<RunSummary>> ListAsync(RunScope scope, RunQuery query, CancellationToken cancellationToken) =>
        runs.ListAsync(scope.TenantId, scope.Restrict(query), cancellationToken);

    /// <summary>Counts by status of the runs the query's filters match (its paging aside).</summary>
    public Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(RunScope scope, RunQuery query, CancellationToken cancellationToken) =>
        runs.CountByStatusAsync(scope.TenantId, scope.Restrict(query), cancellationToken);

    public async Task<(RunDocument Run, string WorkflowName)> GetRunWithNameAsync(RunScope scope, string runId, CancellationToken cancellationToken)
    {
        var run = await GetRunAsync(scope, runId, cancellationToken);
        return (run, (await workflows.GetAsync(scope.TenantId, run.WorkflowId, cancellationToken))?.Name ?? string.Empty);
    }

    /// <summary>The run, if the scope sees it; one it may not see is a 404 exactly like one that does not exist.</summary>
    public async Task<RunDocument> GetRunAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        await FindRunAsync(scope, runId, cancellationToken) ?? throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");

    /// <summary>The run if it exists and the scope sees it, else null.</summary>
    public async Task<RunDocument?> FindRunAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        await runs.GetAsync(scope.TenantId, runId, cancellationToken) is { } run && scope.CanSee(run) ? run : null;

    /// <summary>The workflow's id once it exists in the scope's tenant; else a 404.</summary>
    public async Task<string> RequireWorkflowAsync(RunScope scope, string workflowId, CancellationToken cancellationToken) =>
        await workflows.GetAsync(scope.TenantId, workflowId, cancellationToken) is null
            ? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow")
            : workflowId;

    /// <summary>The run, with the first page of its turns and the node executions of those turns.</summary>
    public async Task<RunDetails> GetDetailsAsync(RunScope scope, string runId, CancellationToken cancellationToken)
    {
        var (run, workflowName) = await GetRunWithNameAsync(scope, runId, cancellationToken);
        var page = await ReadTurnPageAsync(scope.TenantId, runId, -1, DefaultTurnsPerPage, cancellationToken);
        var events = page.Turns.SelectMany(t => t.Events).ToList();
        return new RunDetails(run, workflowName, page, NodeExecutions.From(events, run.Status), RunActivity.Of(run, running, !runs.OwnedByOneProcess, clock.GetUtcNow()));
    }

    /// <summary>
    /// Up to <paramref name="limit"/> turns numbered above <paramref name="afterTurn"/>, with their events, at most
    /// <see cref="MaxEventsPerPage"/> events in all.
    /// </summary>
    public async Task<TurnPage> GetTurnPageAsync(RunScope scope, string runId, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        await GetRunAsync(scope, runId, cancellationToken);
        return await ReadTurnPageAsync(scope.TenantId, runId, afterTurn, limit, cancellationToken);
    }

    /// <summary>
    /// One turn with the run's state after it (rebuilt from the turn checkpoints up to it) and the variables it changed.
    /// Its events are those a page holds at most; a turn with more says so, as in a page of turns.
    /// </summary>
    public async Task<TurnDetails> GetTurnAsync(RunScope scope, string runId, int turnNumber, CancellationToken cancellationToken)
    {
        var tenantId = scope.TenantId;
        var run = await GetRunAsync(scope, runId, cancellationToken);
        var turns = turnNumber < 0 ? [] : await runs.GetTurnsAsync(tenantId, runId, -1, turnNumber + 1, cancellationToken);
        var turn = turns.FirstOrDefault(t => t.TurnNumber == turnNumber)
            ?? throw new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Turn not found", $"The run has no turn {turnNumber}; it is at turn {run.TurnNumber}.")
                .With("turn_number", turnNumber);

        var count = (int)Math.Max(0, turn.LastSeq - turn.FirstSeq + 1);
        var events = count == 0 ? [] : await runs.GetEventsAsync(tenantId, runId, turn.FirstSeq - 1, Math.Min(count, MaxEventsPerPage), cancellationToken);
        var states = Checkpoints.StatesAfter(turns);
        var after = states.GetValueOrDefault(turnNumber);
        var isFirst = turns[0].TurnNumber == turnNumber;
        var before = isFirst ? null : states.GetValueOrDefault(turns.Last(t => t.TurnNumber < turnNumber).TurnNumber);
        var changes = after is null || (!isFirst && before is null) ? null : VariableChanges.Between(before?.Variables, after.Variables);
        return new TurnDetails(new TurnRecord(turn, events, events.Count == count), after, changes);
    }

    /// <summary>
    /// Every turn of the run in order, each with all its events, read a page at a time: for answers that are written
    /// as they are read (the transcript), so that a long run never sits in memory whole.
    /// </summary>
    /// <param name="run">The run, as read through the caller's scope (<see cref="GetRunAsync"/>).</param>
    public async IAsyncEnumerable<TurnRecord> ReadAllTurnsAsync(
        RunDocument run, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (tenantId, runId) = (run.TenantId, run.Id);
        var after = -1;
        while (true)
        {
            var turns = await runs.GetTurnsAsync(tenantId, runId, after, DefaultTurnsPerPage, cancellationToken);
            foreach (var turn in turns)
            {
                var events = new List<RunEvent>();
                var afterSeq = turn.FirstSeq - 1;
                while (afterSeq < turn.LastSeq)
                {
                    var chunk = await runs.GetEventsAsync(tenantId, runId, afterSeq, (int)Math.Min(MaxEventsPerPage, turn.LastSeq - afterSeq), cancellationToken);
                    if (chunk.Count == 0)
                    {
                        break;
                    }

                    events.AddRange(chunk);
                    afterSeq = chunk[^1].Seq;
                }

                yield return new TurnRecord(turn, events, EventsComplete: true);
                after = turn.TurnNumber;
            }

            if (turns.Count < DefaultTurnsPerPage)
            {
                yield break;
            }
        }
    }

    private async Task<TurnPage> ReadTurnPageAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        var turns = await runs.GetTurnsAsync(tenantId, runId, afterTurn, limit + 1, cancellationToken);
        var hasMore = turns.Count > limit;
        turns = turns.Take(limit).ToList();
        var withEvents = turns.Where(t => t.LastSeq >= t.FirstSeq).ToList();
        var events = withEvents.Count == 0
            ? []
            : await runs.GetEventsAsync(tenantId, runId, withEvents[0].FirstSeq - 1, MaxEventsPerPage, cancellationToken);
        var lastRead = events.Count == MaxEventsPerPage ? events[^1].Seq : long.MaxValue;

        var records = new List<TurnRecord>();
        foreach (var turn in turns)
        {
            if (turn.FirstSeq > lastRead && turn.LastSeq >= turn.FirstSeq)
            {
                // The page's events ran out before this turn: it starts the next page.
                hasMore = true;
                break;
            }

            var own = events.Where(e => e.Seq >= turn.FirstSeq && e.Seq <= turn.LastSeq).ToList();
            var complete = turn.LastSeq <= lastRead;
            records.Add(new TurnRecord(turn, own, complete));
            if (!complete)
            {
                hasMore = records.Count < turns.Count || hasMore;
                break;
            }
        }

        return new TurnPage(records, hasMore);
    }

    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(RunScope scope, string runId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        await ReadEventsAsync(await GetRunAsync(scope, runId, cancellationToken), afterSeq, limit, cancellationToken);

    /// <summary>Events of a run already read through the caller's scope (<see cref="FindRunAsync"/>), after a seq.</summary>
    public Task<IReadOnlyList<RunEvent>> ReadEventsAsync(RunDocument run, long afterSeq, int limit, CancellationToken cancellationToken) =>
        runs.GetEventsAsync(run.TenantId, run.Id, afterSeq, limit, cancellationToken);

    /// <summary>
    /// Cancels each run that is still going; reports per run. A run of the named workflow is picked only while it is
    /// not finished, so a bulk cancel by workflow reports only what it cancelled (or could not).
    /// </summary>
    public async Task<IReadOnlyList<CancelResult>> CancelAsync(string tenantId, IReadOnlyList<string> runIds, string? reason, CancellationToken cancellationToken)
    {
        var results = new List<CancelResult>();
        foreach (var runId in runIds.Distinct())
        {
            results.Add(await CancelOneAsync(tenantId, runId, reason, cancellationToken));
        }

        return results;
    }

    public async Task<IReadOnlyList<CancelResult>> CancelWorkflowRunsAsync(string tenantId, string workflowId, string? reason, CancellationToken cancellationToken)
    {
        if (await workflows.GetAsync(tenantId, workflowId, cancellationToken) is null)
        {
            throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow");
        }

        var active = Enum.GetValues<RunStatus>().Where(s => !RunStateMachine.IsTerminal(s)).ToList();
        var results = new List<CancelResult>();
        while (true)
        {
            // Always page 1: each cancelled run leaves the filter, so the next page slides into place.
            var page = await runs.ListAsync(tenantId, new RunQuery { WorkflowId = workflowId, Statuses = active, Limit = 100 }, cancellationToken);
            var fresh = page.Items.Where(r => results.All(done => done.RunId != r.Run.Id)).ToList();
            if (fresh.Count == 0)
            {
                return results;
            }

            foreach (var item in fresh)
            {
                results.Add(await CancelOneAsync(tenantId, item.Run.Id, reason, cancellationToken));
            }
        }
    }

    private async Task<CancelResult> CancelOneAsync(string tenantId, string runId, string? reason, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(tenantId, runId, cancellationToken);
        if (run is null)
        {
            return new CancelResult(runId, CancelOutcome.NotFound, null);
        }

        if (RunStateMachine.IsTerminal(run.Status))
        {
            return new CancelResult(runId, CancelOutcome.AlreadyCompleted, run.Status.ToWire());
        }

        try
        {
            var outcome = await engine.ExecuteAsync(
                new TurnRequest
                {
                    TenantId = tenantId,
                    WorkflowId = run.WorkflowId,
                    RunId = run.Id,
                    Command = TurnCommand.Stop,
                    CancelReason = reason ?? "cancelled by request",
                    CancelSource = TerminationSource.CancelRequest,
                    RecordedInput = new() { ["command"] = "stop", ["reason"] = reason },
                },
                cancellationToken);
            return new CancelResult(runId, CancelOutcome.Cancelled, outcome.Run.Status.ToWire());
        }
        catch (DomainException refused) when (refused.Kind == ErrorKind.Conflict)
        {
            // Another turn moved the run while we cancelled (or finished it): report it as it now is.
            var now = await runs.GetAsync(tenantId, runId, cancellationToken);
            return now is not null && RunStateMachine.IsTerminal(now.Status)
                ? new CancelResult(runId, CancelOutcome.AlreadyCompleted, now.Status.ToWire())
                : new CancelResult(runId, CancelOutcome.NotEligible, now?.Status.ToWire());
        }
    }
}
