using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Telemetry;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Runtime.Turns;

/// <summary>The turn a background request was accepted as: what its `202 Accepted` says.</summary>
public sealed record AcceptedTurn(string RunId, int TurnNumber);

/// <summary>
/// Accepts turns to run in the background (`Prefer: respond-async`): the turn's input is appended to its run's queue
/// (<see cref="RunDocument.Queue"/>) in one version-checked write (with the run itself, for a first turn, and with the
/// `202` answer under an idempotency key), and a worker runs it (<see cref="RunWork"/>) through the turn pipeline. A turn
/// accepted on a free run is admitted by the pipeline first (<see cref="TurnPipeline.AdmitAsync"/>), so it is refused
/// (4xx, nothing written) exactly when a synchronous turn would be; one enqueued behind others is checked when its time
/// comes, and a refusal then is recorded as its turn.
/// </summary>
public sealed class BackgroundTurns(
    TurnPipeline pipeline, TurnLoader loader, BusyRuns busyRuns, IRunGate gate, RunningTurns running, IRunStore runs, WorkSignal work, TimeProvider clock)
{
    /// <summary>How often acceptance decides again when the run moved under it (each time, another write won).</summary>
    private const int Attempts = 5;

    /// <param name="answer">
    /// Renders the `202` answer before the write, for an idempotency key to store with it; null without a key.
    /// </param>
    public async Task<AcceptedTurn> AcceptAsync(TurnRequest request, Func<AcceptedTurn, IdempotentAnswer>? answer, CancellationToken cancellationToken)
    {
        var item = new QueuedTurn(ObjectId.NewId(clock.GetUtcNow()).ToString(), 0, request.RecordedInput, request.RunBy, clock.GetUtcNow(), SessionsTelemetry.CurrentTraceParent());
        string? interrupted = null;
        RunningTurn? reservation = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var run = request.RunId is null ? await loader.NewRunAsync(request, cancellationToken) : await loader.LoadAsync(request, cancellationToken);

                // The run handed over to this acceptance by the turn it interrupted here is free for it.
                var holder = request.RunId is null ? null : gate.HolderOf(run) is { } owner && owner != item.Id ? owner : null;
                var ahead = run.Queue.Where(q => q.Id != interrupted).ToList();
                var free = holder is null && ahead.Count == 0;
                await pipeline.AdmitAsync(run, request, free, cancellationToken);
                var lease = run.Lease;
                IReadOnlyList<QueuedTurn> queue;
                if (free)
                {
                    queue = [item with { TurnNumber = run.TurnNumber + 1 }];
                }
                else if (request.OnBusy == BusyPolicy.Enqueue)
                {
                    queue = [.. ahead, item with { TurnNumber = RunQueue.NextTurnNumber(run with { Queue = ahead }, holder) }];
                }
                else if (request.OnBusy == BusyPolicy.Interrupt)
                {
                    RunMachine.Fire(new RunState(run.Status), RunTrigger.Interrupt);
                    if (holder is not null && running.Find(run.TenantId, run.Id) is { } here && here.Owner == holder)
                    {
                        // Cancelled here and waited for; then decide again on the run as it let go of it.
                        (_, var cancelled, reservation) = await busyRuns.InterruptHereAsync(run, request, item.Id, cancellationToken);
                        interrupted = RunQueue.QueuedIdOf(cancelled);
                        continue;
                    }

                    if (holder is not null)
                    {
                        // Another server's turn: taking its lease away cancels it (it commits nothing; it notices and stops).
                        interrupted = RunQueue.QueuedIdOf(holder);
                        lease = null;
                    }

                    // It goes ahead of the turns queued, which run after it.
                    queue = [item with { TurnNumber = run.TurnNumber + 1 }, .. ahead.Where(q => q.Id != interrupted)];
                }
                else
                {
                    throw TurnRefusals.Conflict(busyRuns.Busy(run, request));
                }

                var accepted = new AcceptedTurn(run.Id, queue.Single(q => q.Id == item.Id).TurnNumber);
                var next = run with { Version = run.Version + 1, Queue = queue, Lease = lease };
                try
                {
                    var commit = new TurnCommit(next, run.Version, [], null, answer?.Invoke(accepted))
                    {
                        // Its files are the run's from its acceptance: they are read back when its time comes.
                        Files = UploadedFile.Of(request.RecordedInput).Select(f => f.File).ToList(),
                    };
                    await runs.CommitTurnAsync(commit, cancellationToken);
                }
                catch (StoreConflictException) when (attempt < Attempts)
                {
                    // Another write moved the run (a turn committed, or another was accepted): decide again.
                    continue;
                }
                catch (StoreConflictException)
                {
                    throw TurnRefusals.Conflict();
                }
                finally
                {
                    // This server's copy must never be stale: acceptance writes the run outside the pipeline's commit.
                    loader.Forget(run.TenantId, run.Id);
                }

                return accepted;
            }
        }
        finally
        {
            if (reservation is not null)
            {
                busyRuns.Release(reservation);
            }

            work.Due();
        }
    }
}
