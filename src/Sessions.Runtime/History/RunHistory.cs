using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Runtime.History;

/// <summary>Reads runs back for people and dashboards, and cancels them in bulk. Every read is scoped by tenant.</summary>
public sealed class RunHistory(IRunStore runs, IWorkflowStore workflows, TurnPipeline turns, IRunGate gate, RunningTurns running)
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
        await FindRunAsync(scope, runId, cancellationToken) ?? throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);

    /// <summary>The run if it exists and the scope sees it, else null.</summary>
    public async Task<RunDocument?> FindRunAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        await runs.GetAsync(scope.TenantId, runId, cancellationToken) is { } run && scope.CanSee(run) ? run : null;

    /// <summary>The workflow's id once it exists in the scope's tenant; else a 404.</summary>
    public async Task<string> RequireWorkflowAsync(RunScope scope, string workflowId, CancellationToken cancellationToken) =>
        await workflows.GetAsync(scope.TenantId, workflowId, cancellationToken) is null
            ? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId)
            : workflowId;

    /// <summary>The run as support staff read it; its first page of turns is read after it (<see cref="ReadTurnPageAsync"/>).</summary>
    public async Task<RunDetails> GetDetailsAsync(RunScope scope, string runId, CancellationToken cancellationToken)
    {
        var (run, workflowName) = await GetRunWithNameAsync(scope, runId, cancellationToken);
        return new RunDetails(run, workflowName, RunActivity.Of(run, gate, running));
    }

    /// <summary>
    /// Hands <paramref name="sink"/> up to <paramref name="limit"/> turns numbered above <paramref name="afterTurn"/>, with
    /// their events, at most <see cref="MaxEventsPerPage"/> events in all, reading the events <see cref="EventsPerRead"/> at
    /// a time: a page is written as it is read, and a reader that stalls holds a few events, not the page. A turn whose
    /// events do not fit is the page's last, marked incomplete, and the rest of its events are read by seq.
    /// </summary>
    /// <param name="run">The run, as read through the caller's scope (<see cref="GetRunAsync"/>).</param>
    public Task<TurnPageEnd> ReadTurnPageAsync(RunDocument run, int afterTurn, int limit, ITurnPageSink sink, CancellationToken cancellationToken) =>
        // Only what the page needs of the run is kept while it is written, which may take as long as its reader takes.
        ReadTurnPageAsync(run.TenantId, run.Id, run.Status, afterTurn, limit, sink, cancellationToken);

    private async Task<TurnPageEnd> ReadTurnPageAsync(string tenantId, string runId, RunStatus status, int afterTurn, int limit, ITurnPageSink sink, CancellationToken cancellationToken)
    {
        var found = await runs.GetTurnsAsync(tenantId, runId, afterTurn, limit + 1, cancellationToken);
        var hasMore = found.Count > limit;

        // A page shows no checkpoint: dropped at once, so that a page written slowly does not keep the run's states.
        var turns = found.Take(limit).Select(t => t with { StateAfter = null, Changes = null }).ToList();
        found = null;
        var events = new PageEvents(runs, tenantId, runId, turns.FirstOrDefault(HasEvents)?.FirstSeq - 1 ?? 0);
        var executions = new NodeExecutions();
        int? lastTurn = null;
        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (events.Exhausted && turn.FirstSeq > events.LastRead && HasEvents(turn))
            {
                // The page's events ran out before this turn: it starts the next page.
                hasMore = true;
                break;
            }

            await sink.TurnAsync(turn, cancellationToken);
            while (HasEvents(turn) && await events.NextAsync(turn.LastSeq, cancellationToken) is { } e)
            {
                if (e.Seq >= turn.FirstSeq)
                {
                    executions.Add(e);
                    await sink.EventAsync(e, cancellationToken);
                }
            }

            var complete = !events.Exhausted || turn.LastSeq <= events.LastRead;
            await sink.TurnEndAsync(turn, complete, cancellationToken);
            lastTurn = turn.TurnNumber;
            if (!complete)
            {
                hasMore |= i + 1 < turns.Count;
                break;
            }
        }

        return new TurnPageEnd(hasMore, lastTurn, executions.Records(status));
    }

    private static bool HasEvents(TurnDocument turn) => turn.LastSeq >= turn.FirstSeq;

    /// <summary>Events the page reads at once: a stalled reader of a page holds at most these.</summary>
    public const int EventsPerRead = 100;

    /// <summary>A page's events, read in order a few at a time, up to <see cref="MaxEventsPerPage"/> in all.</summary>
    private sealed class PageEvents(IRunStore runs, string tenantId, string runId, long afterSeq)
    {
        private readonly Queue<RunEvent> read = new();
        private int budget = MaxEventsPerPage;
        private bool ended;

        /// <summary>True once the page has read all the events it may; <see cref="LastRead"/> is then the last one's seq.</summary>
        public bool Exhausted => budget == 0;

        public long LastRead { get; private set; } = long.MaxValue;

        /// <summary>The next event at or before <paramref name="lastSeq"/>; null when the next one is past it or none is left to read.</summary>
        public async ValueTask<RunEvent?> NextAsync(long lastSeq, CancellationToken cancellationToken)
        {
            if (read.Count == 0 && !ended && budget > 0)
            {
                var wanted = Math.Min(EventsPerRead, budget);
                var chunk = await runs.GetEventsAsync(tenantId, runId, afterSeq, wanted, cancellationToken);
                ended = chunk.Count < wanted;
                budget -= chunk.Count;
                foreach (var e in chunk)
                {
                    read.Enqueue(e);
                }

                if (chunk.Count > 0)
                {
                    afterSeq = chunk[^1].Seq;
                    LastRead = Exhausted ? afterSeq : long.MaxValue;
                }
            }

            return read.TryPeek(out var next) && next.Seq <= lastSeq ? read.Dequeue() : null;
        }
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
            throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId);
        }

        var active = Enum.GetValues<RunStatus>().Where(s => !RunMachine.IsTerminal(s)).ToList();
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

        if (RunMachine.IsTerminal(run.Status))
        {
            return new CancelResult(runId, CancelOutcome.AlreadyCompleted, run.Status.ToWire());
        }

        try
        {
            var outcome = await turns.ExecuteAsync(
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
            return now is not null && RunMachine.IsTerminal(now.Status)
                ? new CancelResult(runId, CancelOutcome.AlreadyCompleted, now.Status.ToWire())
                : new CancelResult(runId, CancelOutcome.NotEligible, now?.Status.ToWire());
        }
    }
}
