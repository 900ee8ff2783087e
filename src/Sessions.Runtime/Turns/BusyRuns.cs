using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Telemetry;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What a turn does when it meets a busy run (a turn of it running, here or on another server, or background turns
/// queued ahead): the rule of what "busy" is, waiting in line for the run (<see cref="BusyPolicy.Enqueue"/>), and
/// cancelling the turn that runs here (a stop, <see cref="BusyPolicy.Interrupt"/>). A turn on another server is
/// interrupted by taking its lease, when the interrupting turn holds the run.
/// </summary>
public sealed class BusyRuns(TurnLoader loader, IRunGate gate, RunningTurns running, RunEventFeed feed, IOptions<TurnOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan EnqueuePoll = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// What keeps <paramref name="request"/> from starting on <paramref name="run"/> now, in words; null when nothing
    /// does. Background turns queued ahead of it, or a turn running in this process, or on another server (a live lease).
    /// </summary>
    public string? Busy(RunDocument run, TurnRequest request)
    {
        if (run.Queue.Count > 0 && run.Queue[0].Id != request.Queued?.Id)
        {
            return $"{run.Queue.Count} background turn(s) of this run are queued; this turn was not applied. Send it with run_input.on_busy \"enqueue\" to run after them.";
        }

        if (gate.HolderOf(run) is { } holder && holder != request.Idempotency?.Owner)
        {
            return "Another turn of this run is running; this turn was not applied. Retry when it has answered, or send run_input.on_busy \"enqueue\" or \"interrupt\".";
        }

        return null;
    }

    /// <summary>
    /// For <see cref="BusyPolicy.Enqueue"/>: waits, in line with the turns that arrived before it in this process, until
    /// the run is free (no turn running, no background turn queued ahead), and returns it as it then is, with the turn's
    /// place in line, to leave once it holds the run. Refused with 409 `turn_conflict` if that takes longer than
    /// `Sessions:Turns:EnqueueWaitSeconds`.
    /// </summary>
    public async Task<(RunDocument Run, IDisposable Place)> WaitUntilFreeAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        // The time in line is a span of its own: a slow turn that mostly waited for another says so.
        using var span = SessionsTelemetry.Source.StartActivity(SessionsTelemetry.LeaseWaitSpan);
        span?.SetTag(SessionsTelemetry.RunId, request.RunId);
        var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(options.Value.EnqueueWaitSeconds);
        IDisposable place;
        using (var timeout = new CancellationTokenSource(deadline - clock.GetUtcNow(), clock))
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                place = await running.LineUpAsync(request.TenantId, request.RunId!, waiting.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "stayed busy");
                throw StayedBusy();
            }
        }

        try
        {
            while (true)
            {
                var committed = feed.NextCommit(request.RunId!);
                var run = await loader.LoadAsync(request, cancellationToken);
                if (RunMachine.IsTerminal(run.Status) || Busy(run, request) is null && !LettingGo(run))
                {
                    return (run, place);
                }

                if (deadline - clock.GetUtcNow() <= TimeSpan.Zero)
                {
                    span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "stayed busy");
                    throw StayedBusy();
                }

                // Woken by a commit or a turn ending here; a turn on another server is seen by looking again.
                var ended = running.Find(run.TenantId, run.Id)?.Finished ?? Task.CompletedTask;
                await Task.WhenAny(committed, ended.IsCompleted ? Task.Delay(EnqueuePoll, clock, cancellationToken) : ended, Task.Delay(EnqueuePoll, clock, cancellationToken));
            }
        }
        catch
        {
            place.Dispose();
            throw;
        }
    }

    /// <summary>
    /// For a stop or <see cref="BusyPolicy.Interrupt"/>: cancels the turn of the run running in this process, if any,
    /// waits for it to let go (it commits nothing), and returns the run as it then is, with the owner of the cancelled
    /// turn (for a background turn, its queued turn, which goes with it) and the run's reservation for this turn.
    /// </summary>
    public async Task<(RunDocument Run, string? Interrupted, RunningTurn? Reservation)> InterruptHereAsync(
        RunDocument run, TurnRequest request, string owner, CancellationToken cancellationToken)
    {
        if (await gate.InterruptHereAsync(run, owner, cancellationToken) is not { } interruption)
        {
            return (run, null, null);
        }

        loader.Forget(run.TenantId, run.Id);
        try
        {
            return (await loader.LoadAsync(request, cancellationToken), interruption.CancelledOwner, interruption.Reservation);
        }
        catch
        {
            running.Release(interruption.Reservation);
            throw;
        }
    }

    /// <summary>Gives up a run handed over by an interruption that the turn did not take after all; whoever comes next may.</summary>
    public void Release(RunningTurn reservation) => running.Release(reservation);

    /// <summary>
    /// Whether a turn of the run in this process has committed (the run is at its number, so the run is not busy) but
    /// not yet let go of the run: until it has, the run cannot be taken, and a turn that tried would only try again.
    /// </summary>
    private bool LettingGo(RunDocument run) =>
        running.Find(run.TenantId, run.Id) is { } here && here.TurnNumber <= run.TurnNumber && !here.Finished.IsCompleted;

    private DomainException StayedBusy() =>
        TurnRefusals.Conflict($"The run stayed busy for {options.Value.EnqueueWaitSeconds} s (Sessions:Turns:EnqueueWaitSeconds); this turn was not applied.");
}
