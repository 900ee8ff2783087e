using Sessions.Runtime.Webhooks;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Takes one turn of a run: loads it, meets a busy run by the turn's policy (<see cref="BusyRuns"/>), holds it
/// (<see cref="TurnHold"/>), steps its nodes in memory, and commits the run, the turn's events, the turn record and
/// (under an idempotency key) the answer in one version-checked write. A turn that is refused, cancelled or loses a
/// race leaves the run as it was; a background turn (<see cref="TurnRequest.Queued"/>) that its run refuses is recorded
/// as a turn with its refusal, so that its client, who is not waiting, can read it.
/// </summary>
public sealed class TurnEngine(
    IWorkflowStore workflows,
    IRunStore runs,
    IdempotencyKeys keys,
    RunningTurns running,
    BusyRuns busyRuns,
    RecentRuns recent,
    DefinitionCache definitions,
    RunEventFeed feed,
    WorkSignal work,
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
            var remembered = request.RunId is null || request.Queued is not null ? null : recent.TryGet(request.TenantId, request.RunId);
            return await ExecuteAsync(request, remembered?.Run, mayStartAgain: true, cancellationToken, observer, remembered?.Json);
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
    /// <param name="copyJson">The copy as its commit stored it, if known: the state this turn's changes are taken against.</param>
    private async Task<TurnOutcome> ExecuteAsync(
        TurnRequest request, RunDocument? copy, bool mayStartAgain, CancellationToken cancellationToken, TurnObserver? observer, string? copyJson = null)
    {
        var run = request.RunId is null
            ? await NewRunAsync(request, cancellationToken)
            : Visible(copy, request) ?? await LoadRunAsync(request, cancellationToken);
        var fromCopy = ReferenceEquals(run, copy);
        if (request.Queued is { } queued && (run.Queue.Count == 0 || run.Queue[0].Id != queued.Id))
        {
            // Another worker ran it (or a stop dropped it) since this one found it.
            throw TurnHold.Conflict("This background turn is no longer first in its run's queue.");
        }

        if (request.ExpectedTurn is { } expected && expected != run.TurnNumber)
        {
            if (fromCopy && mayStartAgain)
            {
                return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
            }

            throw TurnMismatch(expected, run);
        }

        // A stop always interrupts: stop means stop, whatever runs.
        var policy = request.Command == TurnCommand.Stop ? BusyPolicy.Interrupt : request.OnBusy;
        var owner = request.Queued is { } work ? RunQueue.WorkerOwner(work) : request.Idempotency?.Owner ?? Guid.NewGuid().ToString("n");
        string? interrupted = null;
        RunningTurn? reservation = null;
        IDisposable? inLine = null;
        if (NeedsHold(run, request) && busyRuns.Busy(run, request) is { } busy)
        {
            if (fromCopy && mayStartAgain)
            {
                // This server's copy may be stale: decide on the run as it is stored.
                return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
            }

            switch (policy)
            {
                case BusyPolicy.Enqueue:
                    (run, inLine) = await busyRuns.WaitUntilFreeAsync(request, cancellationToken);
                    break;
                case BusyPolicy.Interrupt:
                    (run, interrupted, reservation) = await busyRuns.InterruptHereAsync(run, request, owner, cancellationToken);
                    break;
                default:
                    throw TurnHold.Conflict(busy);
            }

            fromCopy = false;
        }

        try
        {
            return await RunTurnAsync(
                request, run, fromCopy, fromCopy ? copyJson : null, mayStartAgain, policy, owner, RunQueue.QueuedIdOf(interrupted), inLine, cancellationToken, observer);
        }
        finally
        {
            inLine?.Dispose();

            // A run handed over to this turn that it did not take after all goes back to whoever comes next.
            if (reservation is not null)
            {
                running.Release(reservation);
            }
        }
    }

    /// <summary>
    /// Whether the turn must hold the run: not for a new run (nobody else knows its id) nor for a finished one (the
    /// turn will be refused without writing), except a failed run that is retried.
    /// </summary>
    private static bool NeedsHold(RunDocument run, TurnRequest request) =>
        request.RunId is not null && (!RunMachine.IsTerminal(run.Status) || request.Command == TurnCommand.Retry && run.Status == RunStatus.Failed);

    /// <summary>The turn once its run is free, or freed for it: validated, held, stepped and committed.</summary>
    private async Task<TurnOutcome> RunTurnAsync(
        TurnRequest request, RunDocument run, bool fromCopy, string? storedJson, bool mayStartAgain, BusyPolicy policy, string owner, string? interrupted,
        IDisposable? inLine, CancellationToken cancellationToken, TurnObserver? observer)
    {
        if (request.Command == TurnCommand.Retry && request.VersionNumber is { } target && target != run.VersionNumber && run.Status == RunStatus.Failed)
        {
            // A retry on another version continues at the failed node there, which must exist with the same type.
            var source = await definitions.GetRequiredAsync(request.TenantId, run.WorkflowId, run.VersionNumber, cancellationToken);
            var moved = await definitions.GetRequiredAsync(request.TenantId, run.WorkflowId, target, cancellationToken);
            ResumePoint.EnsureExists(run.CursorNodeId, source, moved, target);
            request = request with { RetriedFromVersion = run.VersionNumber };
            run = run with { VersionNumber = target };
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
        catch (DomainException refusal) when (request.Queued is not null)
        {
            // A background turn's client is not waiting for this refusal: it becomes the turn's recorded answer.
            return await RefuseQueuedAsync(run, request, refusal, cancellationToken);
        }

        // Another server's turn holds the run: a stop or an interrupt takes its lease (it notices and stops).
        interrupted ??= policy == BusyPolicy.Interrupt ? RunQueue.QueuedIdOf(run.Lease?.Owner) : null;

        // On a shared store, a turn leases its run only once it reaches outside the server, unless it streams (what it
        // showed could not be taken back if it started again), runs in the background or interrupts (both find their
        // run by its lease).
        var leaseLater = observer is null && request.Queued is null && policy != BusyPolicy.Interrupt;
        var (hold, current) = await TurnHold.TryTakeAsync(
            runs, keys, running, run, !NeedsHold(run, request), request.Idempotency, owner, policy == BusyPolicy.Interrupt, leaseLater, options.Value, clock, logger, cancellationToken);

        // Held (or not): the next turn in line may look now.
        inLine?.Dispose();
        if (hold is null)
        {
            if (fromCopy && mayStartAgain && current is not null)
            {
                // The copy was stale: another server moved the run on. Start again from the run as the failed write
                // found it, which saves reading it.
                recent.Forget(request.TenantId, request.RunId!);
                return await ExecuteAsync(request, current, mayStartAgain: false, cancellationToken, observer);
            }

            if (policy == BusyPolicy.Enqueue)
            {
                // Taken by another turn between the look and the hold: wait again, then start from the run as it is.
                (_, var place) = await busyRuns.WaitUntilFreeAsync(request, cancellationToken);
                place.Dispose();
                return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
            }

            if (policy == BusyPolicy.Interrupt && mayStartAgain)
            {
                // Another writer moved the run between reading it and taking it (a worker retaking its work): again.
                return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
            }

            throw TurnHold.Conflict();
        }

        RunMovedOnException movedOn;
        try
        {
            return await StepAndCommitAsync(hold, turn, request, run, storedJson, definition, startedAt, interrupted, cancellationToken);
        }
        catch (RunMovedOnException e)
        {
            movedOn = e;
        }

        // Held without a lease, the turn found the run moved on: it did nothing outside the server and wrote nothing.
        if (fromCopy && mayStartAgain)
        {
            // The copy was stale: start again from the run as the failed write found it.
            recent.Forget(request.TenantId, request.RunId!);
            return await ExecuteAsync(request, movedOn.Current, mayStartAgain: false, cancellationToken, observer);
        }

        if (policy == BusyPolicy.Enqueue)
        {
            // Another turn won the run: wait for it as if it had been seen running, then start from the run as it is.
            (_, var place) = await busyRuns.WaitUntilFreeAsync(request, cancellationToken);
            place.Dispose();
            return await ExecuteAsync(request, null, mayStartAgain: false, cancellationToken, observer);
        }

        throw movedOn.Current is { Status: RunStatus.Cancelled }
            ? TurnHold.CancelledTurn()
            : TurnHold.Conflict("Another turn of this run was committed while this one ran; this turn was not applied. Read the run and retry.");
    }

    /// <summary>The turn once held: stepped, its answer rendered, and committed; the hold is let go whatever happens.</summary>
    private async Task<TurnOutcome> StepAndCommitAsync(
        TurnHold hold, TurnExecution turn, TurnRequest request, RunDocument run, string? storedJson, WorkflowDefinition definition, DateTimeOffset startedAt,
        string? interrupted, CancellationToken cancellationToken)
    {
        await using var held = hold;
        turn.Progress = hold.Progress;
        // Only a turn held without its lease has anything to do there: others skip the look at every node.
        turn.BeforeReachingOutside = hold.OnlyInMemory ? hold.ReachingOutsideAsync : null;
        using (var stoppable = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, hold.Cancelled))
        {
            try
            {
                await turn.ContinueAsync(stoppable.Token);
            }
            catch (OperationCanceledException) when (hold.WasCancelled)
            {
                throw TurnHold.CancelledTurn();
            }
        }

        var (executed, events) = turn.Result();
        if (hold.WasCancelled)
        {
            throw TurnHold.CancelledTurn();
        }

        var outcome = new TurnOutcome(executed, events);
        if (answerWriter is not null)
        {
            try
            {
                outcome = outcome with { Answer = Render(answerWriter, outcome) };
            }
            catch (DomainException refusal) when (request.Queued is not null)
            {
                return await CommitRefusalAsync(hold, run, request, refusal, cancellationToken);
            }
        }

        if (request.Idempotency is not null && outcome.Answer is null)
        {
            throw new InvalidOperationException("A turn under an idempotency key needs an ITurnAnswerWriter.");
        }

        var queue = RunMachine.IsTerminal(executed.Status) || request.Command == TurnCommand.Stop
            ? []
            : (IReadOnlyList<QueuedTurn>)hold.Stored.Queue.Where(q => q.Id != request.Queued?.Id && q.Id != interrupted).ToList();
        var committed = await CommitAsync(
            hold,
            run,
            storedJson,
            executed with { Queue = queue },
            events,
            request.RecordedInput,
            startedAt,
            request.Idempotency is { } claim ? () => keys.Answer(claim, outcome.Answer!, run.Id) : null,
            updated => WebhookOutbox.For(updated, definition, outcome.Answer, webhookOptions.Value, clock.GetUtcNow()),
            cancellationToken);
        return outcome with { Run = committed };
    }

    /// <summary>
    /// Commits the turn that took <paramref name="before"/> to <paramref name="executed"/>: the run at the next version,
    /// its events, its turn record, its answer under its key and its webhook deliveries, in one write that expects the
    /// run as the hold last knew it. If only background turns were appended meanwhile, commits again on top of them.
    /// Returns the run as committed.
    /// </summary>
    private async Task<RunDocument> CommitAsync(
        TurnHold hold,
        RunDocument before,
        string? beforeJson,
        RunDocument executed,
        IReadOnlyList<RunEvent> events,
        JsonObject input,
        DateTimeOffset startedAt,
        Func<IdempotentAnswer>? answer,
        Func<RunDocument, IReadOnlyList<WebhookDelivery>> deliveries,
        CancellationToken cancellationToken)
    {
        // From here on the hold is not renewed: what is left is one write. The answer under the key is made only now,
        // so that it expects the key's version as its last renewal left it.
        var stored = await hold.BeforeCommitAsync();
        var answered = answer?.Invoke();
        while (true)
        {
            var (updated, snapshot, changes) = Checkpoints.Record(before, executed with { Version = stored.Version + 1, Lease = null }, beforeJson);
            var output = new JsonObject
            {
                ["status"] = updated.Status.ToWire(),
                ["error"] = updated.Error,
                ["next_input_hint"] = TurnOutcome.HintOf(updated)?.DeepClone(),
            };
            if (events is [{ Type: RunEventType.TurnRefused } refusal])
            {
                output["refusal"] = refusal.Fields.DeepClone();
            }

            var record = new TurnDocument(before.Id, updated.TurnNumber, (JsonObject)input.DeepClone(), output, before.LastSeq + 1, updated.LastSeq, startedAt, clock.GetUtcNow(), snapshot, changes);
            try
            {
                var commit = new TurnCommit(updated, stored.Version, events, record, answered, deliveries(updated))
                {
                    Files = UploadedFile.Of(input).Select(f => f.File).ToList(),
                };
                await runs.CommitTurnAsync(commit, cancellationToken);
                hold.Committed();
                Remember(updated, commit.RunJson);
            }
            catch (StoreConflictException)
            {
                var current = await runs.GetAsync(before.TenantId, before.Id, CancellationToken.None);
                if (current is not null && RunQueue.OnlyAppended(stored, current))
                {
                    executed = executed with { Queue = [.. executed.Queue, .. RunQueue.AppendedSince(stored, current)] };
                    stored = current;
                    hold.Adopt(current);
                    continue;
                }

                if (hold.OnlyInMemory && !hold.WasCancelled)
                {
                    // Another server's lease in the run is a turn that started there, not one that took this turn's run.
                    throw new RunMovedOnException(current);
                }

                if (hold.WasCancelled || current is { Status: RunStatus.Cancelled } || current?.Lease is { } lease && lease.Owner != hold.Owner)
                {
                    throw TurnHold.CancelledTurn();
                }

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

            feed.Committed(before.Id);
            if (updated.Queue.Count > 0)
            {
                work.Due();
            }

            return updated;
        }
    }

    private void Remember(RunDocument committed, string json)
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

    /// <summary>
    /// A background turn its run refused when its time came (a reply the run no longer waits for, say): recorded as a
    /// turn of its own, with one `turn_refused` event holding the problem its client would have got, so that joining it
    /// answers that problem. The run is otherwise left as it was.
    /// </summary>
    private async Task<TurnOutcome> RefuseQueuedAsync(RunDocument run, TurnRequest request, DomainException refusal, CancellationToken cancellationToken)
    {
        var (hold, _) = await TurnHold.TryTakeAsync(runs, keys, running, run, false, null, RunQueue.WorkerOwner(request.Queued!), preempt: false, leaseLater: false, options.Value, clock, logger, cancellationToken);
        if (hold is null)
        {
            throw TurnHold.Conflict();
        }

        await using var held = hold;
        return await CommitRefusalAsync(hold, run, request, refusal, cancellationToken);
    }

    private async Task<TurnOutcome> CommitRefusalAsync(TurnHold hold, RunDocument run, TurnRequest request, DomainException refusal, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var refused = new RunEvent(run.Id, run.LastSeq + 1, run.TurnNumber + 1, RunEventType.TurnRefused, null, now, QueuedRefusal.Fields(refusal));
        var executed = run with
        {
            TurnNumber = refused.TurnNumber,
            LastSeq = refused.Seq,
            Queue = hold.Stored.Queue.Where(q => q.Id != request.Queued!.Id).ToList(),
            UpdatedAt = now,
        };
        var committed = await CommitAsync(hold, run, null, executed, [refused], request.RecordedInput, now, null, _ => [], cancellationToken);
        return new TurnOutcome(committed, [refused]);
    }

    internal static DomainException TurnMismatch(int expected, RunDocument run) =>
        new DomainException(
                ErrorKind.Conflict,
                ProblemCodes.TurnMismatch,
                "Run is at another turn",
                $"expected_turn is {expected} but the run is at turn {run.TurnNumber}: another client moved it. Read the run before answering.")
            .With("current_turn", run.TurnNumber);

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
        if (request.Command is TurnCommand.Pause or TurnCommand.Stop or TurnCommand.Resume or TurnCommand.Retry)
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

    /// <summary>The run if this request may take a turn of it: a run of its workflow, and its caller's own where that is the rule.</summary>
    internal static RunDocument? Visible(RunDocument? run, TurnRequest request) =>
        run is not null && run.WorkflowId == request.WorkflowId && new RunScope(request.TenantId, request.OnlyRunsBy).CanSee(run) ? run : null;

    internal async Task<RunDocument> LoadRunAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        if (Visible(await runs.GetAsync(request.TenantId, request.RunId!, cancellationToken), request) is { } run)
        {
            // A workflow is only ever soft-deleted, and its runs go on, so the tenant's run is enough: no second read here.
            return run;
        }

        // A run of another workflow is reported exactly like a missing one: ids are not secrets, but lookups are scoped.
        await GetWorkflowAsync(request, cancellationToken);
        throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");
    }

    /// <summary>A new run of the request's version, or of the workflow's active one; a deleted workflow starts none.</summary>
    internal async Task<RunDocument> NewRunAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var workflow = await GetWorkflowAsync(request, cancellationToken);
        return NewRun(request, request.VersionNumber ?? workflow.ActiveVersion);
    }

    /// <summary>The workflow a new run starts on: a deleted one starts none (its existing runs go on).</summary>
    internal async Task<WorkflowDocument> GetWorkflowAsync(TurnRequest request, CancellationToken cancellationToken) =>
        await workflows.GetAsync(request.TenantId, request.WorkflowId, cancellationToken) is { DeletedAt: null } workflow
            ? workflow
            : throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow");
}
