using Sessions.Runtime.Webhooks;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Takes one turn of a run: loads it, holds it (<see cref="TurnHold"/>), steps its nodes in memory, and commits the run,
/// the turn's events, the turn record and (under an idempotency key) the answer in one version-checked write. A turn
/// that is refused, or loses a race, leaves the run as it was.
/// </summary>
public sealed class TurnEngine(
    IWorkflowStore workflows,
    IRunStore runs,
    IdempotencyKeys keys,
    RunLocks locks,
    RecentRuns recent,
    DefinitionCache definitions,
    RunEventFeed feed,
    IOptions<TurnOptions> options,
    IOptions<WebhookOptions> webhookOptions,
    IEnumerable<ITurnAnswerWriter> answerWriters,
    TimeProvider clock,
    ILogger<TurnEngine> logger)
{
    // Registered by the HTTP host, which says what an answer is; hosts without HTTP (the runtime's tests) register none,
    // and their turns carry no rendered answer (nor may they use idempotency keys).
    private readonly ITurnAnswerWriter? answerWriter = answerWriters.LastOrDefault();

    /// <param name="observer">
    /// Sees each event as it is recorded, before the turn commits, and partial model text (for streaming). If the commit
    /// then fails, the events did not happen: the caller must say so.
    /// </param>
    public async Task<TurnOutcome> ExecuteAsync(TurnRequest request, CancellationToken cancellationToken, TurnObserver? observer = null)
    {
        try
        {
            var remembered = request.RunId is null ? null : recent.TryGet(request.TenantId, request.RunId);
            return await ExecuteAsync(request, remembered, mayStartAgain: true, cancellationToken, observer);
        }
        catch when (request.RunId is not null)
        {
            // Whatever happened, the next turn of this run reads it from the store.
            recent.Forget(request.TenantId, request.RunId);
            throw;
        }
    }

    /// <param name="copy">
    /// A copy of the run to start from without reading it (as this server last committed it), which may be stale; null
    /// to read the run. A stale copy is found out before anything happens, and the turn starts again from the run as
    /// it is stored.
    /// </param>
    private async Task<TurnOutcome> ExecuteAsync(TurnRequest request, RunDocument? copy, bool mayStartAgain, CancellationToken cancellationToken, TurnObserver? observer)
    {
        var run = request.RunId is null
            ? NewRun(request, request.VersionNumber ?? (await GetWorkflowAsync(request, cancellationToken)).ActiveVersion)
            : Visible(copy, request) ?? await LoadRunAsync(request, cancellationToken);
        var fromCopy = ReferenceEquals(run, copy);
        if (request.ExpectedTurn is { } expected && expected != run.TurnNumber)
        {
            if (fromCopy && mayStartAgain)
            {
                return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
            }

            throw new DomainException(
                    ErrorKind.Conflict,
                    ProblemCodes.TurnMismatch,
                    "Run is at another turn",
                    $"expected_turn is {expected} but the run is at turn {run.TurnNumber}: another client moved it. Read the run before answering.")
                .With("current_turn", run.TurnNumber);
        }

        var definition = await definitions.GetRequiredAsync(request.TenantId, run.WorkflowId, run.VersionNumber, cancellationToken);
        var startedAt = clock.GetUtcNow();
        var turn = new TurnExecution(run, definition, request, options.Value, clock, logger, observer);
        try
        {
            // Refusals that need only the run come before holding it, so that a refused request writes nothing.
            turn.Begin();
        }
        catch (DomainException) when (fromCopy && mayStartAgain && !runs.OwnedByOneProcess)
        {
            // This server's copy may be stale (another server moved the run on): refuse only what the stored run refuses.
            recent.Forget(request.TenantId, request.RunId!);
            return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
        }

        var (hold, current) = await TurnHold.TryTakeAsync(runs, keys, locks, run, request.RunId is null, request.Idempotency, options.Value, clock, logger, cancellationToken);
        if (hold is null)
        {
            if (fromCopy && mayStartAgain && current is not null)
            {
                // The copy was stale: another server moved the run on. Start again from the run as the failed write
                // found it, which saves reading it.
                recent.Forget(request.TenantId, request.RunId!);
                return await ExecuteAsync(request, current, mayStartAgain: false, cancellationToken, observer);
            }

            throw TurnHold.Conflict();
        }

        await using var held = hold;
        await turn.ContinueAsync(cancellationToken);
        var (executed, events) = turn.Result();

        // From here on the hold is not renewed: what is left is rendering the answer and one write.
        var expectedVersion = await hold.BeforeCommitAsync();
        var (updated, snapshot, changes) = Checkpoints.Record(run, executed with { Version = expectedVersion + 1 });
        var outcome = new TurnOutcome(updated, events);
        if (answerWriter is not null)
        {
            outcome = outcome with { Answer = Render(answerWriter, outcome) };
        }

        IdempotentAnswer? answer = null;
        if (request.Idempotency is { } claim)
        {
            answer = keys.Answer(claim, outcome.Answer ?? throw new InvalidOperationException("A turn under an idempotency key needs an ITurnAnswerWriter."));
        }

        var output = new JsonObject
        {
            ["status"] = updated.Status.ToWire(),
            ["error"] = updated.Error,
            ["next_input_hint"] = outcome.NextInputHint?.DeepClone(),
        };
        var record = new TurnDocument(run.Id, updated.TurnNumber, (JsonObject)request.RecordedInput.DeepClone(), output, run.LastSeq + 1, updated.LastSeq, startedAt, clock.GetUtcNow(), snapshot, changes);
        try
        {
            var deliveries = WebhookOutbox.For(updated, definition, outcome.Answer, webhookOptions.Value, clock.GetUtcNow());
            await runs.CommitTurnAsync(new TurnCommit(updated, expectedVersion, events, record, answer, deliveries), cancellationToken);
            hold.Committed();
            if (RunStateMachine.IsTerminal(updated.Status))
            {
                recent.Forget(updated.TenantId, updated.Id);
            }
            else
            {
                recent.Remember(updated);
            }
        }
        catch (StoreConflictException)
        {
            throw new DomainException(
                ErrorKind.Conflict,
                ProblemCodes.TurnConflict,
                "Turn lost a race",
                "Another turn of this run was committed while this one ran; this turn was not applied. Read the run and retry.");
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A commit can fail after the database applied it (the connection dropped before its reply came). Answering
            // "not applied" then would invite a retry that applies the turn twice: the stored run says which it was.
            recent.Forget(updated.TenantId, updated.Id);
            if (!await LandedAsync(updated, failure))
            {
                throw;
            }

            logger.LogWarning(failure, "The commit of turn {TurnNumber} of run {RunId} reported a failure but was applied; answering it as committed.", updated.TurnNumber, updated.Id);
            hold.Committed();
        }

        feed.Committed(run.Id);

        return outcome;
    }

    /// <summary>Whether the store holds the run as this turn committed it; unknown (the read fails too) is its own answer.</summary>
    private async Task<bool> LandedAsync(RunDocument committed, Exception failure)
    {
        try
        {
            var stored = await runs.GetAsync(committed.TenantId, committed.Id, CancellationToken.None);
            return stored is not null && stored.Version == committed.Version && stored.LastSeq == committed.LastSeq;
        }
        catch (Exception)
        {
            throw new CommitOutcomeUnknownException(committed.Id, committed.TurnNumber, failure);
        }
    }

    /// <summary>Before the commit: an answer that cannot be written (too deep to serialize, say) refuses the turn whole.</summary>
    private static string Render(ITurnAnswerWriter writer, TurnOutcome outcome)
    {
        try
        {
            return writer.Write(outcome);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Text.Json.JsonException or ArgumentException or NotSupportedException)
        {
            throw new DomainException(
                ErrorKind.Unprocessable,
                ProblemCodes.AnswerNotWritable,
                "Answer cannot be written",
                $"This turn's answer cannot be written as JSON ({ex.Message}); the turn was not applied.");
        }
    }

    private RunDocument NewRun(TurnRequest request, int versionNumber)
    {
        if (request.Command is TurnCommand.Pause or TurnCommand.Stop or TurnCommand.Resume)
        {
            throw new DomainException(
                ErrorKind.BadRequest,
                ProblemCodes.RunIdRequired,
                "run_id required",
                $"The command '{request.Command.ToString().ToLowerInvariant()}' acts on an existing run; send its run_id.");
        }

        var now = clock.GetUtcNow();
        return new RunDocument
        {
            Id = ObjectId.NewId(now).ToString(),
            TenantId = request.TenantId,
            WorkflowId = request.WorkflowId,
            VersionNumber = versionNumber,
            Status = RunStatus.NotStarted,
            Version = 0,
            TurnNumber = 0,
            LastSeq = 0,
            Variables = new JsonObject(),
            RunBy = request.RunBy,
            WebhookUrl = request.WebhookUrl,
            Origin = request.ReplayOf is null ? null : RunOrigin.Replay,
            SourceRunId = request.ReplayOf,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>The run if this request may take a turn of it: a run of its workflow, and its caller's own where that is the rule.</summary>
    private static RunDocument? Visible(RunDocument? run, TurnRequest request) =>
        run is not null && run.WorkflowId == request.WorkflowId && new RunScope(request.TenantId, request.OnlyRunsBy).CanSee(run) ? run : null;

    private async Task<RunDocument> LoadRunAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        if (Visible(await runs.GetAsync(request.TenantId, request.RunId!, cancellationToken), request) is { } run)
        {
            // Workflows are never deleted, so the tenant's run proves its workflow exists: no second read on this path.
            return run;
        }

        // A run of another workflow is reported exactly like a missing one: ids are not secrets, but lookups are scoped.
        await GetWorkflowAsync(request, cancellationToken);
        throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");
    }

    private async Task<WorkflowDocument> GetWorkflowAsync(TurnRequest request, CancellationToken cancellationToken) =>
        await workflows.GetAsync(request.TenantId, request.WorkflowId, cancellationToken)
        ?? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow");
}
