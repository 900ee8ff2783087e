using Microsoft.Extensions.Logging;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// A turn's hold on its run (so that no other turn starts on it) and on its idempotency key (so that a retry waits
/// instead of running the turn twice) while it works. On a store one process owns, the run is held in memory
/// (<see cref="RunLocks"/>); on a shared store, by a lease in the run document, taken with a version-checked write and
/// renewed every third of its length. The commit expects the version the last of those writes left.
/// If this server dies, in-memory holds die with it and stored leases simply expire.
/// </summary>
internal sealed class TurnHold : IAsyncDisposable
{
    private readonly IRunStore runs;
    private readonly IdempotencyKeys keys;
    private readonly RunLocks locks;
    private readonly KeyClaim? claim;
    private readonly TimeSpan duration;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private RunDocument stored;
    private RunDocument? found;
    private Task renewing = Task.CompletedTask;
    private bool inMemory;
    private bool leased;
    private bool committed;

    private TurnHold(IRunStore runs, IdempotencyKeys keys, RunLocks locks, RunDocument run, KeyClaim? claim, string owner, TimeSpan duration, TimeProvider clock, ILogger logger)
    {
        this.runs = runs;
        this.keys = keys;
        this.locks = locks;
        this.claim = claim;
        this.duration = duration;
        this.clock = clock;
        this.logger = logger;
        stored = run;
        Owner = owner;
    }

    public string Owner { get; }

    /// <summary>The refusal of a turn that found its run held by another turn, or moved on since it was read.</summary>
    public static DomainException Conflict() => new(
        ErrorKind.Conflict,
        ProblemCodes.TurnConflict,
        "Turn lost a race",
        "Another turn of this run is in progress or was just committed; this turn was not applied. Read the run and retry.");

    /// <summary>
    /// Holds the run unless it is new (nobody else can know its id) or finished (the turn will be refused without
    /// writing). Without a hold the result says why: another turn holds the run (no run given back), or the run moved
    /// on since it was read, and then the run as the failed lease write found it comes back, for a caller that started
    /// from an old copy to start again from; either is otherwise a 409 <see cref="Conflict"/>.
    /// </summary>
    public static async Task<(TurnHold? Hold, RunDocument? Current)> TryTakeAsync(
        IRunStore runs, IdempotencyKeys keys, RunLocks locks, RunDocument run, bool isNew, KeyClaim? claim, TurnOptions options, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        var owner = claim?.Owner ?? Guid.NewGuid().ToString("n");
        var hold = new TurnHold(runs, keys, locks, run, claim, owner, options.Lease, clock, logger);
        if (!isNew && !RunStateMachine.IsTerminal(run.Status))
        {
            var now = clock.GetUtcNow();
            var taken = runs.OwnedByOneProcess
                ? hold.inMemory = locks.TryEnter(run.TenantId, run.Id, owner)
                : hold.leased = RunLeases.MayTake(run, owner, now) && await hold.TryWriteLeaseAsync(new TurnLease(owner, now + options.Lease), cancellationToken);
            if (!taken)
            {
                hold.stop.Dispose();
                return (null, hold.found is { } current && current.Version != run.Version ? current : null);
            }
        }

        if (hold.leased || claim is { Record: not null })
        {
            hold.renewing = hold.RenewAsync();
        }

        return (hold, null);
    }

    /// <summary>
    /// Stops renewing and returns the version the commit must find: the run as read, or as this turn's last lease write
    /// left it. The commit itself clears the lease, in the same write.
    /// </summary>
    public async Task<long> BeforeCommitAsync()
    {
        await StopRenewingAsync();
        return stored.Version;
    }

    public void Committed() => committed = true;

    public async ValueTask DisposeAsync()
    {
        await StopRenewingAsync();
        stop.Dispose();
        if (inMemory)
        {
            locks.Exit(stored.TenantId, stored.Id, Owner);
        }

        if (leased && !committed)
        {
            try
            {
                // Given back so that the next turn need not wait for it to expire; if this fails, it expires by itself.
                await runs.TryReplaceAsync(RunLeases.Released(stored), stored.Version, CancellationToken.None);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not release the lease of run {RunId}", stored.Id);
            }
        }
    }

    private async Task<bool> TryWriteLeaseAsync(TurnLease lease, CancellationToken cancellationToken)
    {
        var next = RunLeases.Taken(stored, lease);
        var written = await runs.TryReplaceAsync(next, stored.Version, cancellationToken);
        if (!written.Written)
        {
            found = written.Current;
            return false;
        }

        stored = next;
        return true;
    }

    private async Task StopRenewingAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
        }

        await renewing;
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
                var kept = (!leased || await TryWriteLeaseAsync(lease, CancellationToken.None))
                    & (claim is null || await keys.RenewAsync(claim, CancellationToken.None));
                if (!kept)
                {
                    // Another server took over after our lease lapsed; this turn's commit will be refused.
                    logger.LogWarning("Turn on run {RunId} lost its lease; it will not be applied", stored.Id);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Renewing the lease of run {RunId} failed", stored.Id);
        }
    }
}
