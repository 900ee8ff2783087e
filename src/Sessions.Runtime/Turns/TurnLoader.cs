using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Where a turn's run comes from: a new run for a first turn, this server's copy of it (<see cref="RecentRuns"/>, which
/// saves reading it, and may be stale where servers share the store), or the store. Every lookup is scoped: a run of
/// another workflow or tenant, or one the caller may not see, is a 404 exactly like a run that does not exist.
/// </summary>
public sealed class TurnLoader(IRunStore runs, IWorkflowStore workflows, RecentRuns recent, TimeProvider clock)
{
    /// <summary>The first attempt at a turn: on a new run, on this server's copy of its run, or on the run to be read.</summary>
    internal async Task<TurnAttempt> FirstAttemptAsync(TurnRequest request, TurnObserver? observer, CancellationToken cancellationToken)
    {
        if (request.RunId is null)
        {
            return new TurnAttempt(request, observer) { Run = await NewRunAsync(request, cancellationToken) };
        }

        // A background turn starts from the run as stored: its worker found it there, with the turn queued.
        return request.Queued is null && recent.TryGet(request.TenantId, request.RunId) is { } copy && Visible(copy.Run, request) is { } run
            ? new TurnAttempt(request, observer) { Run = run, RunJson = copy.Json, FromCopy = true }
            : new TurnAttempt(request, observer);
    }

    /// <summary>The run as stored, if this request may take a turn of it; else the 404 its request gets.</summary>
    public async Task<RunDocument> LoadAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        if (Visible(await runs.GetAsync(request.TenantId, request.RunId!, cancellationToken), request) is { } run)
        {
            // A workflow is only ever soft-deleted, and its runs go on, so the tenant's run is enough: no second read here.
            return run;
        }

        // A run of another workflow is reported exactly like a missing one: ids are not secrets, but lookups are scoped.
        await GetWorkflowAsync(request, cancellationToken);
        throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", request.RunId);
    }

    /// <summary>A new run of the request's version, or of the workflow's active one; a deleted workflow starts none.</summary>
    public async Task<RunDocument> NewRunAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var workflow = await GetWorkflowAsync(request, cancellationToken);
        if (request.Command is TurnCommand.Pause or TurnCommand.Stop or TurnCommand.Resume or TurnCommand.Retry)
        {
            throw new DomainException(
                ErrorKind.BadRequest,
                ProblemCodes.RunIdRequired,
                "run_id required",
                $"The command '{request.Command.ToString().ToLowerInvariant()}' acts on an existing run; send its run_id.");
        }

        if (request.NewRunId is { } named && await runs.GetAsync(request.TenantId, named, cancellationToken) is not null)
        {
            throw TurnRefusals.Conflict("The conversation's run has started already; send this turn to it.");
        }

        var now = clock.GetUtcNow();
        return new RunDocument
        {
            Id = request.NewRunId ?? ObjectId.NewId(now).ToString(),
            TenantId = request.TenantId,
            WorkflowId = request.WorkflowId,
            VersionNumber = request.VersionNumber ?? workflow.ActiveVersion,
            Status = RunStatus.NotStarted,
            Version = 0,
            TurnNumber = 0,
            LastSeq = 0,
            Variables = new JsonObject(),
            RunBy = request.RunBy,
            WebhookUrl = request.WebhookUrl,
            Metadata = (JsonObject?)request.Metadata?.DeepClone(),
            OriginInstance = request.OriginInstance,
            OriginZone = request.OriginZone,
            OriginReference = request.OriginReference,
            Origin = request.ReplayOf is null ? null : RunOrigin.Replay,
            SourceRunId = request.ReplayOf,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>
    /// Remembers the run as a turn just committed it, for its next turn to start from; a finished run takes no more
    /// turns and is forgotten. Never throws.
    /// </summary>
    public void Remember(RunDocument committed, string json)
    {
        if (RunMachine.IsTerminal(committed.Status))
        {
            recent.Forget(committed.TenantId, committed.Id);
        }
        else
        {
            recent.Remember(committed, json);
        }
    }

    /// <summary>This server's copy of the run is not to be trusted any more: the run's next turn reads it.</summary>
    public void Forget(string tenantId, string runId) => recent.Forget(tenantId, runId);

    /// <summary>The run if this request may take a turn of it: a run of its workflow, and its caller's own where that is the rule.</summary>
    public static RunDocument? Visible(RunDocument? run, TurnRequest request) =>
        run is not null && run.WorkflowId == request.WorkflowId && new RunScope(request.TenantId, request.OnlyRunsBy).CanSee(run) ? run : null;

    /// <summary>The workflow a new run starts on: a deleted one starts none (its existing runs go on).</summary>
    private async Task<WorkflowDocument> GetWorkflowAsync(TurnRequest request, CancellationToken cancellationToken) =>
        await workflows.GetAsync(request.TenantId, request.WorkflowId, cancellationToken) is { DeletedAt: null } workflow
            ? workflow
            : throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", request.WorkflowId);
}
