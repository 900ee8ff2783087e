using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What a turn does when it meets a busy run (a turn of it running, here or on another server, or background turns
/// queued ahead): the rule of what "busy" is, waiting in line for the run (<see cref="BusyPolicy.Enqueue"/>), and
/// cancelling the turn that runs here (a stop, <see cref="BusyPolicy.Interrupt"/>). A turn on another server is
/// interrupted by taking its lease (<see cref="TurnHold"/>).
/// </summary>
public sealed class BusyRuns(IRunStore runs, RunningTurns running, RunEventFeed feed, RecentRuns recent, IOptions<TurnOptions> options, TimeProvider clock)
{
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

        if (RunQueue.Holder(run, running, !runs.OwnedByOneProcess, clock.GetUtcNow()) is { } holder && holder != request.Idempotency?.Owner)
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
                throw TurnHold.Conflict($"The run stayed busy for {options.Value.EnqueueWaitSeconds} s (Sessions:Turns:EnqueueWaitSeconds); this turn was not applied.");
            }
        }

        try
        {
            while (true)
            {
                var committed = feed.NextCommit(request.RunId!);
                var run = await ReloadAsync(request, cancellationToken);
                if (RunMachine.IsTerminal(run.Status) || Busy(run, request) is null && !LettingGo(run))
                {
                    return (run, place);
                }

                var left = deadline - clock.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    throw TurnHold.Conflict($"The run stayed busy for {options.Value.EnqueueWaitSeconds} s (Sessions:Turns:EnqueueWaitSeconds); this turn was not applied.");
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
    /// Whether a turn of the run in this process has committed (the run is at its number, so the run is not busy) but
    /// not yet let go of the run: until it has, the run cannot be taken, and a turn that tried would only try again.
    /// </summary>
    private bool LettingGo(RunDocument run) =>
        running.Find(run.TenantId, run.Id) is { } here && here.TurnNumber <= run.TurnNumber && !here.Finished.IsCompleted;

    private static readonly TimeSpan EnqueuePoll = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// For a stop or <see cref="BusyPolicy.Interrupt"/>: cancels the turn of the run running in this process, if any,
    /// waits for it to let go (it commits nothing), and returns the run as it then is, with the owner of the cancelled
    /// turn (for a background turn, its queued turn, which goes with it). A turn on another server is taken over when
    /// this turn takes the run (<see cref="TurnHold"/>).
    /// </summary>
    public async Task<(RunDocument Run, string? Interrupted, RunningTurn? Reservation)> InterruptHereAsync(
        RunDocument run, TurnRequest request, string owner, CancellationToken cancellationToken)
    {
        if (running.Find(run.TenantId, run.Id) is not { } local || local.Owner == owner)
        {
            return (run, null, null);
        }

        // Handed over, so that the run is this turn's the moment the cancelled one lets go of it.
        var reservation = running.HandOver(local, owner);
        var waited = await Task.WhenAny(local.Finished, Task.Delay(TimeSpan.FromSeconds(options.Value.CancelWaitSeconds), clock, cancellationToken));
        if (waited != local.Finished && runs.OwnedByOneProcess)
        {
            running.Release(reservation);
            throw TurnHold.Conflict($"The running turn did not stop within {options.Value.CancelWaitSeconds} s (Sessions:Turns:CancelWaitSeconds); this turn was not applied.");
        }

        recent.Forget(run.TenantId, run.Id);
        try
        {
            return (await ReloadAsync(request, cancellationToken), local.Owner, reservation);
        }
        catch
        {
            running.Release(reservation);
            throw;
        }
    }

    /// <summary>The run as it is stored now, as the turn's caller may see it; gone is a 404 as for any turn.</summary>
    private async Task<RunDocument> ReloadAsync(TurnRequest request, CancellationToken cancellationToken) =>
        TurnEngine.Visible(await runs.GetAsync(request.TenantId, request.RunId!, cancellationToken), request)
        ?? throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");
}
