using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Telemetry;
using Sessions.Runtime.Turns.Gates;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Takes one turn of a run, in stages a reader can follow top to bottom: load the run (<see cref="TurnLoader"/>), admit
/// the turn (the run's queue, <c>expected_turn</c>, a busy run met by the turn's policy, then its opening: command, reply,
/// limits), hold the run (<see cref="IRunGate"/>), step its nodes (<see cref="StepLoop"/>), commit (<see cref="TurnCommitter"/>)
/// and answer. A stage that loses a race (a copy found stale, a hold taken by another turn, a run moved on under a turn
/// held only in memory) makes another attempt on the run as it is then, a bounded number of times. Every turn enters
/// here: execute and its stream, background turns and timers (<see cref="RunWork"/>), retries, stops, replays.
/// </summary>
public sealed class TurnPipeline(
    TurnLoader loader,
    BusyRuns busyRuns,
    IRunGate gate,
    DefinitionCache definitions,
    TurnCommitter committer,
    IOptions<TurnOptions> options,
    IOptions<Recordings.ReplayOptions> replayOptions,
    TimeProvider clock,
    ILogger<TurnPipeline> logger)
{
    /// <summary>
    /// Attempts at one turn. Each further attempt follows a lost race and reads the run afresh; a decision taken on this
    /// server's copy is taken again once, and a turn waiting in line goes round once per turn ahead of it that wins.
    /// </summary>
    private const int MaxAttempts = 8;

    /// <param name="observer">
    /// Sees each event as it is recorded, before the turn commits, and partial model text (for streaming). If the commit
    /// then fails, the events did not happen: the caller must say so.
    /// </param>
    public async Task<TurnOutcome> ExecuteAsync(TurnRequest request, CancellationToken cancellationToken, TurnObserver? observer = null)
    {
        // One span and one count per turn however it came (a request, a worker, a timer, a replay); its children are
        // the nodes it ran and its commit. Work a worker does links to the trace that left it.
        using var span = TurnTelemetry.Start(request);

        var started = clock.GetTimestamp();
        try
        {
            var attempt = await loader.FirstAttemptAsync(request, observer, cancellationToken);
            for (var number = 1; ; number++)
            {
                var round = await AttemptAsync(attempt, cancellationToken);
                if (round.Outcome is { } outcome)
                {
                    TurnTelemetry.Record(span, request, outcome.Run, "applied", clock.GetElapsedTime(started).TotalSeconds);
                    return outcome;
                }

                if (number == MaxAttempts)
                {
                    throw TurnRefusals.Conflict($"The run kept changing under this turn ({MaxAttempts} attempts); this turn was not applied. Read the run and retry.");
                }

                attempt = round.Next!;
            }
        }
        catch (Exception failure)
        {
            // Refused (nothing applied), or failed after admission: the span says so, the count says which.
            // A recorded replay stopping before a changed call is a refusal of that turn, not a failure of the server.
            var outcome = failure switch
            {
                DomainException refusal => $"refused:{refusal.Code}",
                Recordings.ReplayStoppedException => "refused:replay_stopped",
                _ => "error",
            };
            TurnTelemetry.Record(span, request, null, failure is DomainException or Recordings.ReplayStoppedException ? "refused" : "error", clock.GetElapsedTime(started).TotalSeconds);
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, outcome);
            if (request.RunId is not null)
            {
                // Whatever happened, the next turn of this run reads it from the store.
                loader.Forget(request.TenantId, request.RunId);
            }

            throw;
        }
    }

    /// <summary>What one attempt came to: the turn's outcome, or the attempt to make next.</summary>
    private readonly record struct Round(TurnOutcome? Outcome, TurnAttempt? Next)
    {
        public static Round Done(TurnOutcome outcome) => new(outcome, null);

        public static Round Again(TurnAttempt next) => new(null, next);
    }

    /// <summary>One attempt: load, admit, hold, step, commit, answer.</summary>
    private async Task<Round> AttemptAsync(TurnAttempt attempt, CancellationToken cancellationToken)
    {
        var request = attempt.Request;

        // Load.
        attempt = attempt.Run is null ? attempt with { Run = await loader.LoadAsync(request, cancellationToken) } : attempt;

        // Every line logged while the turn works (its nodes, the calls they make, its commit) says which turn it was.
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["run_id"] = attempt.Run!.Id,
            ["workflow_id"] = attempt.Run.WorkflowId,
            ["turn_number"] = attempt.Run.TurnNumber + 1,
        });

        // Admit: what needs only the run, and a busy run met by the turn's policy (a stop always interrupts).
        if (Refusal(attempt) is { } refused)
        {
            return attempt is { FromCopy: true, MayStartAgain: true } ? Again(attempt) : throw refused;
        }

        var policy = request.Command == TurnCommand.Stop ? BusyPolicy.Interrupt : request.OnBusy;
        var owner = request.Queued is { } work ? RunQueue.WorkerOwner(work) : request.Idempotency?.Owner ?? Guid.NewGuid().ToString("n");
        string? interrupted = null;
        RunningTurn? reservation = null;
        IDisposable? inLine = null;
        try
        {
            if (NeedsHold(attempt.Run!, request) && busyRuns.Busy(attempt.Run!, request) is { } busy)
            {
                if (attempt is { FromCopy: true, MayStartAgain: true })
                {
                    // This server's copy may be stale: decide on the run as it is stored.
                    return Again(attempt);
                }

                switch (policy)
                {
                    case BusyPolicy.Enqueue:
                        (var free, inLine) = await busyRuns.WaitUntilFreeAsync(request, cancellationToken);
                        attempt = attempt.On(free);
                        break;
                    case BusyPolicy.Interrupt:
                        // The machine's word on interrupting the turn that has the run: its status stays as it is.
                        RunMachine.Fire(new RunState(attempt.Run!.Status), RunTrigger.Interrupt);
                        (var left, interrupted, reservation) = await busyRuns.InterruptHereAsync(attempt.Run!, request, owner, cancellationToken);
                        attempt = attempt.On(left);
                        break;
                    default:
                        throw TurnRefusals.Conflict(busy);
                }
            }

            var run = attempt.Run!;
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
            var turn = new TurnState(run, definition, request, options.Value, clock, attempt.Observer, new Recordings.CallLedger(request.ReplayedCalls, replayOptions.Value));
            TurnContinuation continuation;
            try
            {
                // The turn's opening needs only the run: a refusal comes before holding it, and writes nothing.
                continuation = TurnOpening.Open(turn);
            }
            catch (DomainException) when (attempt is { FromCopy: true, MayStartAgain: true })
            {
                // This server's copy may be stale (another server moved the run on): refuse only what the stored run refuses.
                return Again(attempt);
            }
            catch (DomainException refusal) when (request.Queued is not null)
            {
                // A background turn's client is not waiting for this refusal: it becomes the turn's recorded answer.
                return Round.Done(await RefuseQueuedAsync(run, request, refusal, cancellationToken));
            }

            // Another server's turn holds the run: a stop or an interrupt takes its lease (it notices and stops).
            interrupted ??= policy == BusyPolicy.Interrupt ? RunQueue.QueuedIdOf(run.Lease?.Owner) : null;

            // Hold. Where servers share the store, a turn leases its run only once it reaches outside the server, unless
            // it streams (what it showed could not be taken back if it started again), runs in the background or
            // interrupts (both find their run by its lease).
            var leaseLater = attempt.Observer is null && request.Queued is null && policy != BusyPolicy.Interrupt;
            var terms = new HoldTerms(owner, request.Idempotency, !NeedsHold(run, request), policy == BusyPolicy.Interrupt, leaseLater);
            var (hold, current) = await gate.TryHoldAsync(run, terms, cancellationToken);

            // Held (or not): the next turn in line may look now.
            inLine?.Dispose();
            if (hold is null)
            {
                return attempt switch
                {
                    // The copy was stale: another server moved the run on. Start again from the run as the failed write
                    // found it, which saves reading it.
                    { FromCopy: true, MayStartAgain: true } when current is not null => Again(attempt, current),
                    _ when policy == BusyPolicy.Enqueue => await WaitAgainAsync(attempt, cancellationToken),
                    { MayStartAgain: true } when policy == BusyPolicy.Interrupt => Again(attempt),
                    _ => throw TurnRefusals.Conflict(),
                };
            }

            // Step, commit, answer.
            try
            {
                return Round.Done(await StepAndCommitAsync(hold, turn, continuation, attempt.RunJson, interrupted, cancellationToken));
            }
            catch (RunMovedOnException movedOn)
            {
                // Held only in memory, the turn found the run moved on: it did nothing outside the server and wrote nothing.
                return attempt switch
                {
                    { FromCopy: true, MayStartAgain: true } => Again(attempt, movedOn.Current),
                    _ when policy == BusyPolicy.Enqueue => await WaitAgainAsync(attempt, cancellationToken),
                    _ => throw (movedOn.Current is { Status: RunStatus.Cancelled }
                        ? TurnRefusals.Cancelled()
                        : TurnRefusals.Conflict("Another turn of this run was committed while this one ran; this turn was not applied. Read the run and retry.")),
                };
            }
        }
        finally
        {
            inLine?.Dispose();

            // A run handed over to this turn that it did not take after all goes back to whoever comes next.
            if (reservation is not null)
            {
                busyRuns.Release(reservation);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="run"/> as it stands takes the turn, without running it: a background turn is checked
    /// against it when it is accepted, so that it is refused (4xx, nothing written) exactly when a synchronous turn would
    /// be. On a busy run (<paramref name="runIsFree"/> false) only the turn's number and the run's end are checked: the
    /// rest is decided when the turn's time comes, against the run as the turns ahead of it leave it.
    /// </summary>
    internal async Task AdmitAsync(RunDocument run, TurnRequest request, bool runIsFree, CancellationToken cancellationToken)
    {
        if (Refusal(new TurnAttempt(request, null) { Run = run }) is { } refused)
        {
            throw refused;
        }

        if (!runIsFree)
        {
            if (request.Command != TurnCommand.Retry)
            {
                RunMachine.EnsureNotTerminal(run.Status);
            }

            return;
        }

        var definition = await definitions.GetRequiredAsync(run.TenantId, run.WorkflowId, run.VersionNumber, cancellationToken);
        TurnOpening.Open(new TurnState(run, definition, request, options.Value, clock, null, Recordings.CallLedger.Unrecorded()));
    }

    /// <summary>What the run as read refuses before anything else: a background turn no longer first in its queue, or the wrong `expected_turn`.</summary>
    private static DomainException? Refusal(TurnAttempt attempt)
    {
        var (request, run) = (attempt.Request, attempt.Run!);
        if (request.Queued is { } queued && (run.Queue.Count == 0 || run.Queue[0].Id != queued.Id))
        {
            // Another worker ran it (or a stop dropped it) since this one found it.
            return TurnRefusals.Conflict("This background turn is no longer first in its run's queue.");
        }

        return request.ExpectedTurn is { } expected && expected != run.TurnNumber ? TurnRefusals.Mismatch(expected, run) : null;
    }

    /// <summary>
    /// Whether the turn must hold the run: not for a new run (nobody else knows its id) nor for a finished one (the
    /// turn will be refused without writing), except a failed run that is retried.
    /// </summary>
    private static bool NeedsHold(RunDocument run, TurnRequest request) =>
        request.RunId is not null && (!RunMachine.IsTerminal(run.Status) || request.Command == TurnCommand.Retry && run.Status == RunStatus.Failed);

    /// <summary>Another attempt, on <paramref name="current"/> or on the run read afresh; this server's copy is forgotten.</summary>
    private Round Again(TurnAttempt attempt, RunDocument? current = null)
    {
        loader.Forget(attempt.Request.TenantId, attempt.Request.RunId!);
        return Round.Again(attempt.Again(current));
    }

    /// <summary>Another turn won the run: wait for it as if it had been seen running, then attempt on the run as it is.</summary>
    private async Task<Round> WaitAgainAsync(TurnAttempt attempt, CancellationToken cancellationToken)
    {
        var (_, place) = await busyRuns.WaitUntilFreeAsync(attempt.Request, cancellationToken);
        place.Dispose();
        return Round.Again(attempt.Again());
    }

    /// <summary>The turn once held: stepped, its answer rendered, and committed; the hold is let go whatever happens.</summary>
    private async Task<TurnOutcome> StepAndCommitAsync(
        RunHold hold, TurnState turn, TurnContinuation continuation, string? storedJson, string? interrupted, CancellationToken cancellationToken)
    {
        await using var held = hold;
        var startedAt = clock.GetUtcNow();
        turn.Progress = hold.Progress;
        turn.Held();

        // Only a turn held only in memory has anything to do there: others skip the look at every node.
        var steps = new StepLoop(turn, logger) { BeforeReachingOutside = hold.OnlyInMemory ? hold.ReachingOutsideAsync : null };
        using (var stoppable = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, hold.Cancelled))
        {
            try
            {
                await steps.RunAsync(continuation, stoppable.Token);
            }
            catch (OperationCanceledException) when (hold.WasCancelled)
            {
                throw TurnRefusals.Cancelled();
            }
        }

        var (executed, events) = turn.After();
        if (hold.WasCancelled)
        {
            throw TurnRefusals.Cancelled();
        }

        var request = turn.Request;
        var outcome = new TurnOutcome(executed, events);
        try
        {
            outcome = outcome with { Answer = committer.Render(outcome) };
        }
        catch (DomainException refusal) when (request.Queued is not null)
        {
            return await CommitRefusalAsync(hold, turn.Run, request, refusal, cancellationToken);
        }

        var queue = RunMachine.IsTerminal(executed.Status) || request.Command == TurnCommand.Stop
            ? []
            : (IReadOnlyList<QueuedTurn>)hold.Stored.Queue.Where(q => q.Id != request.Queued?.Id && q.Id != interrupted).ToList();
        var changes = new TurnChanges(turn.Run, executed with { Queue = queue }, events, request.RecordedInput, startedAt)
        {
            BeforeJson = storedJson,
            Key = request.Idempotency,
            Answer = outcome.Answer,
            Definition = turn.Definition,
            Calls = turn.Calls.Made,
        };
        var (committed, json) = await committer.CommitAsync(hold, changes, cancellationToken);
        Remember(committed, json);
        return outcome with { Run = committed, Calls = turn.Calls.Report() };
    }

    /// <summary>
    /// A background turn its run refused when its time came (a reply the run no longer waits for, say): recorded as a
    /// turn of its own, with one `turn_refused` event holding the problem its client would have got, so that joining it
    /// answers that problem. The run is otherwise left as it was.
    /// </summary>
    private async Task<TurnOutcome> RefuseQueuedAsync(RunDocument run, TurnRequest request, DomainException refusal, CancellationToken cancellationToken)
    {
        var terms = new HoldTerms(RunQueue.WorkerOwner(request.Queued!), null, NothingToHold: false, Preempt: false, LeaseLater: false);
        var (hold, _) = await gate.TryHoldAsync(run, terms, cancellationToken);
        if (hold is null)
        {
            throw TurnRefusals.Conflict();
        }

        await using var held = hold;
        return await CommitRefusalAsync(hold, run, request, refusal, cancellationToken);
    }

    private async Task<TurnOutcome> CommitRefusalAsync(RunHold hold, RunDocument run, TurnRequest request, DomainException refusal, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var refused = new RunEvent(run.Id, run.LastSeq + 1, run.TurnNumber + 1, null, now, QueuedRefusal.Event(refusal));
        var executed = run with
        {
            TurnNumber = refused.TurnNumber,
            LastSeq = refused.Seq,
            Queue = hold.Stored.Queue.Where(q => q.Id != request.Queued!.Id).ToList(),
            UpdatedAt = now,
        };
        var (committed, json) = await committer.CommitAsync(hold, new TurnChanges(run, executed, [refused], request.RecordedInput, now), cancellationToken);
        Remember(committed, json);
        return new TurnOutcome(committed, [refused]);
    }

    /// <summary>This server's copy of the run, for its next turn: as committed, or forgotten when the commit's answer was unsure.</summary>
    private void Remember(RunDocument committed, string? json)
    {
        if (json is null)
        {
            loader.Forget(committed.TenantId, committed.Id);
        }
        else
        {
            loader.Remember(committed, json);
        }
    }
}
