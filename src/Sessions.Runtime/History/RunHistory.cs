using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.History;

/// <summary>Reads runs back for people and dashboards, and cancels them in bulk. Every read is scoped by tenant.</summary>
public sealed class RunHistory(IRunStore runs, IWorkflowStore workflows, TurnEngine engine)
{
    /// <summary>Enough for any single run we expect; a run with more events is read through the paged events endpoint.</summary>
    public const int MaxEventsPerRead = 100_000;

    public const int MaxCancelReasonLength = 500;

    public Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken) =>
        runs.ListAsync(tenantId, query, cancellationToken);

    public Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(string tenantId, string? workflowId, CancellationToken cancellationToken) =>
        runs.CountByStatusAsync(tenantId, workflowId, cancellationToken);

    public async Task<RunDocument> GetRunAsync(string tenantId, string runId, CancellationToken cancellationToken) =>
        await runs.GetAsync(tenantId, runId, cancellationToken) ?? throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");

    public async Task<RunDetails> GetDetailsAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        var run = await GetRunAsync(tenantId, runId, cancellationToken);
        var workflow = await workflows.GetAsync(tenantId, run.WorkflowId, cancellationToken);
        var events = await runs.GetEventsAsync(tenantId, runId, 0, MaxEventsPerRead, cancellationToken);
        var turns = await runs.GetTurnsAsync(tenantId, runId, cancellationToken);
        var records = turns
            .Select(t => new TurnRecord(t, events.Where(e => e.Seq >= t.FirstSeq && e.Seq <= t.LastSeq).ToList()))
            .ToList();
        return new RunDetails(run, workflow?.Name ?? string.Empty, records, NodeExecutions.From(events, run.Status));
    }

    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await GetRunAsync(tenantId, runId, cancellationToken);
        return await runs.GetEventsAsync(tenantId, runId, afterSeq, limit, cancellationToken);
    }

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
