using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Turns;

/// <summary>The turn a background request was accepted as: what its `202 Accepted` says.</summary>
public sealed record AcceptedTurn(string RunId, int TurnNumber);

/// <summary>
/// Accepts turns to run in the background (`Prefer: respond-async`): the turn's input is appended to its run's queue
/// (<see cref="RunDocument.Queue"/>) in one version-checked write (with the run itself, for a first turn, and with the
/// `202` answer under an idempotency key), and a worker runs it (<see cref="RunWork"/>). A turn accepted on a free run
/// is checked first against the run as it stands, so it is refused (4xx, nothing written) exactly when a synchronous
/// turn would be; one enqueued behind others is checked when its time comes, and a refusal then is recorded as its turn.
/// </summary>
public sealed class BackgroundTurns(
    TurnEngine engine,
    BusyRuns busyRuns,
    IRunStore runs,
    RunningTurns running,
    RecentRuns recent,
    DefinitionCache definitions,
    WorkSignal work,
    IOptions<TurnOptions> options,
    TimeProvider clock,
    ILogger<BackgroundTurns> logger)
{
    /// <summary>How often acceptance decides again when the run moved under it (each time, another write won).</summary>
    private const int Attempts = 5;

    /// <param name="answer">
    /// Renders the `202` answer before the write, for an idempotency key to store with it; null without a key.
    /// </param>
    public async Task<AcceptedTurn> AcceptAsync(TurnRequest request, Func<AcceptedTurn, IdempotentAnswer>? answer, CancellationToken cancellationToken)
    {
        var item = new QueuedTurn(ObjectId.NewId(clock.GetUtcNow()).ToString(), 0, request.RecordedInput, request.RunBy, clock.GetUtcNow());
        string? interrupted = null;
        RunningTurn? reservation = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var run = request.RunId is null
                    ? await engine.NewRunAsync(request, cancellationToken)
                    : await engine.LoadRunAsync(request, cancellationToken);
                if (request.ExpectedTurn is { } expected && expected != run.TurnNumber)
                {
                    throw TurnEngine.TurnMismatch(expected, run);
                }

                if (request.Command != TurnCommand.Retry)
                {
                    RunMachine.EnsureNotTerminal(run.Status);
                }
                var holder = request.RunId is null ? null : RunQueue.Holder(run, running, !runs.OwnedByOneProcess, clock.GetUtcNow());
                if (holder == item.Id)
                {
                    // The run handed over to this acceptance by the turn it interrupted here.
                    holder = null;
                }

                var ahead = run.Queue.Where(q => q.Id != interrupted).ToList();
                var lease = run.Lease;
                IReadOnlyList<QueuedTurn> queue;
                if (holder is null && ahead.Count == 0)
                {
                    // A free run: refuse now whatever a synchronous turn would be refused, so nothing is queued in vain.
                    var definition = await definitions.GetRequiredAsync(run.TenantId, run.WorkflowId, run.VersionNumber, cancellationToken);
                    new TurnExecution(run, definition, request, options.Value, clock, logger, null).Begin();
                    queue = [item with { TurnNumber = run.TurnNumber + 1 }];
                }
                else if (request.OnBusy == BusyPolicy.Enqueue)
                {
                    queue = [.. ahead, item with { TurnNumber = RunQueue.NextTurnNumber(run with { Queue = ahead }, holder) }];
                }
                else if (request.OnBusy == BusyPolicy.Interrupt)
                {
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
                    throw TurnHold.Conflict(busyRuns.Busy(run, request));
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
                    throw TurnHold.Conflict();
                }
                finally
                {
                    // The store-owned cache must never be stale: acceptance writes the run outside the engine's commit.
                    recent.Forget(run.TenantId, run.Id);
                }

                return accepted;
            }
        }
        finally
        {
            if (reservation is not null)
            {
                running.Release(reservation);
            }

            work.Due();
        }
    }
}
