using Microsoft.Extensions.Logging;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// A turn's hold on its run (so that no other turn starts on it) and on its idempotency key (so that a retry waits
/// instead of running the turn twice) while it works. On a store one process owns, the run is held in memory
/// (<see cref="RunningTurns"/>); on a shared store, by a lease in the run document, taken with a version-checked write and
/// renewed every third of its length. The commit expects the version the last of those writes left.
/// On a shared store a turn may also start without the lease (<c>leaseLater</c>): it is then held in this process only,
/// and takes the lease just before its first node that reaches outside the server (<see cref="ReachingOutsideAsync"/>).
/// A turn that never does (it only steps in memory) writes once, its commit, whose version check alone makes it lose
/// to any turn that wrote the run since it was read; having done nothing outside, such a turn may start again.
/// If this server dies, in-memory holds die with it and stored leases simply expire.
/// A hold can be cancelled: by a stop or an interrupt in this process (through <see cref="RunningTurns"/>), or, on a
/// shared store, by one that took the lease over from another server, which the hold notices within
/// <see cref="WatchInterval"/>. The turn then stops at its next node boundary, or in the middle of a model or HTTP call.
/// </summary>
internal sealed class TurnHold : IAsyncDisposable
{
    /// <summary>How often a turn on a shared store looks whether a stop or an interrupt on another server took its run.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    private readonly IRunStore runs;
    private readonly IdempotencyKeys keys;
    private readonly RunningTurns running;
    private readonly KeyClaim? claim;
    private readonly TimeSpan duration;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private readonly CancellationTokenSource cancellation = new();
    private RunDocument? found;
    private RunningTurn? registered;
    private Task renewing = Task.CompletedTask;
    private Task watching = Task.CompletedTask;
    private volatile bool leased;
    private bool leaseLater;
    private bool committed;

    private TurnHold(IRunStore runs, IdempotencyKeys keys, RunningTurns running, RunDocument run, KeyClaim? claim, string owner, TimeSpan duration, TimeProvider clock, ILogger logger)
    {
        this.runs = runs;
        this.keys = keys;
        this.running = running;
        this.claim = claim;
        this.duration = duration;
        this.clock = clock;
        this.logger = logger;
        Stored = run;
        Owner = owner;
    }

    public string Owner { get; }

    /// <summary>The run as the store holds it now, as far as this hold knows: as read, or as its last write left it.</summary>
    public RunDocument Stored { get; private set; }

    /// <summary>Cancelled when a stop or an interrupt took the run from this turn: the turn must then commit nothing.</summary>
    public CancellationToken Cancelled => cancellation.Token;

    public bool WasCancelled => cancellation.IsCancellationRequested;

    /// <summary>
    /// Whether the turn holds its run without a lease and has not reached outside the server: if its commit finds the run
    /// moved on, it did nothing anyone could see, and may start again.
    /// </summary>
    public bool OnlyInMemory => leaseLater;

    /// <summary>How far the turn has got, for readers of the run in this process; null for a run not stored yet.</summary>
    public TurnProgress? Progress => registered?.Progress;

    /// <summary>The refusal of a turn that found its run held by another turn, or moved on since it was read.</summary>
    public static DomainException Conflict(string? why = null) => new(
        ErrorKind.Conflict,
        ProblemCodes.TurnConflict,
        "Turn lost a race",
        why ?? "Another turn of this run is in progress or was just committed; this turn was not applied. Read the run and retry.");

    /// <summary>The refusal of a turn that a stop or an interrupt cancelled while it ran.</summary>
    public static DomainException CancelledTurn() => new(
        ErrorKind.Conflict,
        ProblemCodes.TurnCancelled,
        "Turn cancelled",
        "A stop or an interrupting turn cancelled this turn while it ran; nothing of it was applied. Read the run.");

    /// <summary>
    /// Holds the run unless there is nothing to hold (<paramref name="nothingToHold"/>: a new run, which nobody else can
    /// know, or a finished one, whose turn will be refused without writing). Without a hold the result says why: another turn holds the run (no run given back), or the run moved
    /// on since it was read, and then the run as the failed lease write found it comes back, for a caller that started
    /// from an old copy to start again from; either is otherwise a 409 <see cref="Conflict"/>. With
    /// <paramref name="preempt"/> (a stop or an interrupt), a live lease of another server is taken over. With
    /// <paramref name="leaseLater"/>, a shared store's lease waits until the turn reaches outside the server.
    /// </summary>
    public static async Task<(TurnHold? Hold, RunDocument? Current)> TryTakeAsync(
        IRunStore runs, IdempotencyKeys keys, RunningTurns running, RunDocument run, bool nothingToHold, KeyClaim? claim, string? owner, bool preempt,
        bool leaseLater, TurnOptions options, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        owner ??= claim?.Owner ?? Guid.NewGuid().ToString("n");
        var hold = new TurnHold(runs, keys, running, run, claim, owner, options.Lease, clock, logger);
        if (!nothingToHold)
        {
            var turnNumber = run.TurnNumber + 1;
            if (runs.OwnedByOneProcess)
            {
                hold.registered = running.TryEnter(run.TenantId, run.Id, owner, turnNumber);
            }
            else if (leaseLater && !preempt)
            {
                hold.registered = running.TryEnter(run.TenantId, run.Id, owner, turnNumber);
                hold.leaseLater = hold.registered is not null;
            }
            else
            {
                var now = clock.GetUtcNow();
                hold.leased = (preempt || RunLeases.MayTake(run, owner, now))
                    && await hold.TryWriteAsync(current => RunLeases.Taken(current, new TurnLease(owner, now + options.Lease)), cancellationToken);

                // A turn of this run that this process still runs has lost its lease (it expired): it only lingers.
                hold.registered = hold.leased ? running.TryEnter(run.TenantId, run.Id, owner, turnNumber) : null;
            }

            if (hold.registered is null && !hold.leased)
            {
                hold.stop.Dispose();
                return (null, hold.found is { } current && current.Version != run.Version ? current : null);
            }

            hold.registered?.Cancelled.Register(hold.cancellation.Cancel);
        }

        if (hold.leased || claim is { Record: not null })
        {
            hold.renewing = hold.RenewAsync();
        }

        if (hold.leased)
        {
            hold.watching = hold.WatchAsync();
        }

        return (hold, null);
    }

    /// <summary>
    /// Before a node that reaches outside the server: takes the run's lease if this turn started without it, so that what
    /// the node does outside happens for one turn only. Throws <see cref="RunMovedOnException"/> if the run moved on
    /// since it was read (or another server holds it): nothing was done outside, and nothing is written.
    /// </summary>
    public async Task ReachingOutsideAsync(CancellationToken cancellationToken)
    {
        if (!leaseLater)
        {
            return;
        }

        leaseLater = false;
        var now = clock.GetUtcNow();
        if (!RunLeases.MayTake(Stored, Owner, now)
            || !await TryWriteAsync(current => RunLeases.Taken(current, new TurnLease(Owner, now + duration)), cancellationToken))
        {
            throw new RunMovedOnException(found);
        }

        leased = true;
        if (renewing.IsCompleted)
        {
            renewing = RenewAsync();
        }

        watching = WatchAsync();
    }

    /// <summary>
    /// Stops renewing and returns the run the commit must find: as read, or as this turn's last lease write left it.
    /// The commit itself clears the lease, in the same write.
    /// </summary>
    public async Task<RunDocument> BeforeCommitAsync()
    {
        await StopRenewingAsync();
        return Stored;
    }

    /// <summary>Takes the run as it now is, when only background turns were appended to it since this hold's last write.</summary>
    public void Adopt(RunDocument current) => Stored = current;

    public void Committed() => committed = true;

    public async ValueTask DisposeAsync()
    {
        await StopRenewingAsync();
        stop.Dispose();
        if (leased && !committed && !WasCancelled)
        {
            try
            {
                // Given back so that the next turn need not wait for it to expire; if this fails, it expires by itself.
                await TryWriteAsync(RunLeases.Released, CancellationToken.None);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not release the lease of run {RunId}", Stored.Id);
            }
        }

        if (registered is not null)
        {
            running.Exit(registered);
        }
    }

    /// <summary>
    /// Writes <paramref name="change"/> of the run as this hold knows it, with the version check; if the run moved only
    /// because background turns were appended, writes the change again on top of them.
    /// </summary>
    private async Task<bool> TryWriteAsync(Func<RunDocument, RunDocument> change, CancellationToken cancellationToken)
    {
        while (true)
        {
            var next = change(Stored);
            var written = await runs.TryReplaceAsync(next, Stored.Version, WriteDurability.Provisional, cancellationToken);
            if (written.Written)
            {
                Stored = next;
                return true;
            }

            if (written.Current is { } current && RunQueue.OnlyAppended(Stored, current))
            {
                Stored = current;
                continue;
            }

            found = written.Current;
            return false;
        }
    }

    private async Task StopRenewingAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
        }

        await renewing;
        await watching;
    }

    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(duration / 3, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                // Not cancelled once started: the commit must know whether this write happened, to expect its version.
                var lease = new TurnLease(Owner, clock.GetUtcNow() + duration);
                var kept = (!leased || await TryWriteAsync(run => RunLeases.Taken(run, lease), CancellationToken.None))
                    & (claim is null || await keys.RenewAsync(claim, CancellationToken.None));
                if (!kept)
                {
                    // Another server took over after our lease lapsed: this turn's commit will be refused.
                    logger.LogWarning("Turn on run {RunId} lost its lease; it will not be applied", Stored.Id);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Renewing the lease of run {RunId} failed", Stored.Id);
        }
    }

    /// <summary>On a shared store: cancels the turn once the run's lease is no longer its own (a stop or an interrupt took it).</summary>
    private async Task WatchAsync()
    {
        using var timer = new PeriodicTimer(WatchInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                var current = await runs.GetAsync(Stored.TenantId, Stored.Id, stop.Token);
                if (current?.Lease?.Owner != Owner)
                {
                    logger.LogInformation("Turn on run {RunId} was taken over by a stop or an interrupt; cancelling it", Stored.Id);
                    await cancellation.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Watching the lease of run {RunId} failed", Stored.Id);
        }
    }
}

/// <summary>
/// A turn held without a lease found its run moved on (another turn committed, or took the lease) before it reached
/// outside the server or committed: it did nothing outside and wrote nothing, so its caller may start it again from
/// <see cref="Current"/> (the run as the failed write found it, if it did) or refuse it as a lost race.
/// </summary>
internal sealed class RunMovedOnException(RunDocument? current) : Exception("The run moved on since this turn read it.")
{
    public RunDocument? Current { get; } = current;
}
