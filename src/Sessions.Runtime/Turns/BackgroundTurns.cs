using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Turns;

/// <summary>The turn a background request was accepted as: what its `202 Accepted` says.</summary>
public sealed record AcceptedTurn(string RunId, int TurnNumber, string QueuedTurnId);

/// <summary>
/// Accepts turns to run in the background (`Prefer: respond-async`): the turn's input is appended to its run's queue
/// (<see cref="RunDocument.Queue"/>) in one version-checked write (with the run itself, for a first turn, and with the
/// `202` answer under an idempotency key), and a worker runs it (<see cref="RunWork"/>). A turn accepted on a free run
/// is checked first against the run as it stands, so it is refused (4xx, nothing written) exactly when a synchronous
/// turn would be; one enqueued behind others is checked when its time comes, and a refusal then is recorded as its turn.
/// </summary>
public sealed class BackgroundTurns(
    TurnEngine engine,
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
        string? interrupted = null;
        for (var attempt = 1; ; attempt++)
        {
            var run = request.RunId is null
                ? engine.NewRun(request, request.VersionNumber ?? (await engine.GetWorkflowAsync(request, cancellationToken)).ActiveVersion)
                : await engine.LoadRunAsync(request, cancellationToken);
            if (request.ExpectedTurn is { } expected && expected != run.TurnNumber)
            {
                throw TurnEngine.TurnMismatch(expected, run);
            }

            RunStateMachine.EnsureNotTerminal(run.Status);
            var now = clock.GetUtcNow();
            var held = request.RunId is not null && (running.Find(run.TenantId, run.Id) is not null || !runs.OwnedByOneProcess && run.Lease is { } live && live.ExpiresAt > now);
            var ahead = run.Queue.Where(q => q.Id != interrupted).ToList();
            var item = new QueuedTurn(ObjectId.NewId(now).ToString(), 0, request.RecordedInput, request.RunBy, now);
            IReadOnlyList<QueuedTurn> queue;
            var lease = run.Lease;
            if (!held && ahead.Count == 0)
            {
                // A free run: refuse now whatever a synchronous turn would be refused, so nothing is queued in vain.
                var definition = await definitions.GetRequiredAsync(run.TenantId, run.WorkflowId, run.VersionNumber, cancellationToken);
                new TurnExecution(run, definition, request, options.Value, clock, logger, null).Begin();
                queue = [item with { TurnNumber = run.TurnNumber + 1 }];
            }
            else if (request.OnBusy == BusyPolicy.Enqueue)
            {
                queue = [.. ahead, item with { TurnNumber = RunQueue.NextTurnNumber(run with { Queue = ahead }, held) }];
            }
            else if (request.OnBusy == BusyPolicy.Interrupt)
            {
                if (running.Find(run.TenantId, run.Id) is not null)
                {
                    // Cancelled here and waited for; then decide again on the run as it let go of it.
                    (_, interrupted) = await engine.InterruptHereAsync(run, request, cancellationToken);
                    continue;
                }

                if (held)
                {
                    // Another server's turn: taking its lease away cancels it (it commits nothing; it notices and stops).
                    interrupted = lease?.Owner;
                    lease = null;
                }

                // It goes ahead of the turns queued, which run after it.
                queue = [item with { TurnNumber = run.TurnNumber + 1 }, .. ahead.Where(q => q.Id != interrupted)];
            }
            else
            {
                throw TurnHold.Conflict(engine.Busy(run, request));
            }

            var accepted = new AcceptedTurn(run.Id, queue.Single(q => q.Id == item.Id).TurnNumber, item.Id);
            var next = run with { Version = run.Version + 1, Queue = queue, Lease = lease };
            try
            {
                await runs.CommitTurnAsync(new TurnCommit(next, run.Version, [], null, answer?.Invoke(accepted)), cancellationToken);
            }
            catch (StoreConflictException) when (attempt < Attempts)
            {
                // Another write moved the run (a turn committed, or another was accepted): decide again.
                recent.Forget(run.TenantId, run.Id);
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

            work.Due();
            return accepted;
        }
    }
}
