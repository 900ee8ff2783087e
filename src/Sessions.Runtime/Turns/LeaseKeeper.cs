using Microsoft.Extensions.Logging;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Holds a turn's leases while it works: on its run (so that no other turn, on any server, starts on it) and on its
/// idempotency key (so that a retry waits instead of running the turn twice). Renews both every third of the lease,
/// and gives the run back if the turn ends without committing. If this server dies, both leases simply expire.
/// </summary>
internal sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly IRunStore runs;
    private readonly IIdempotencyStore keys;
    private readonly RunDocument run;
    private readonly IdempotencyClaim? claim;
    private readonly TimeSpan duration;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private Task renewing = Task.CompletedTask;
    private bool committed;

    private LeaseKeeper(IRunStore runs, IIdempotencyStore keys, RunDocument run, IdempotencyClaim? claim, string owner, TimeSpan duration, TimeProvider clock, ILogger logger)
    {
        this.runs = runs;
        this.keys = keys;
        this.run = run;
        this.claim = claim;
        this.duration = duration;
        this.clock = clock;
        this.logger = logger;
        Owner = owner;
    }

    public string Owner { get; }

    /// <summary>Whether this turn holds its run's lease: every turn of an existing, unfinished run does.</summary>
    public bool HoldsRun { get; private set; }

    /// <summary>
    /// Takes the run's lease unless the run is new (nobody else can know its id) or finished (the turn will be refused
    /// without writing). Another turn holding it, or a commit since the run was read, is a 409 `turn_conflict`.
    /// </summary>
    public static async Task<LeaseKeeper> TakeAsync(
        IRunStore runs, IIdempotencyStore keys, RunDocument run, bool isNew, IdempotencyClaim? claim, TurnOptions options, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        var owner = claim?.Lease.Owner ?? Guid.NewGuid().ToString("n");
        var keeper = new LeaseKeeper(runs, keys, run, claim, owner, options.Lease, clock, logger);
        if (!isNew && !RunStateMachine.IsTerminal(run.Status))
        {
            var now = clock.GetUtcNow();
            if (!await runs.TryAcquireLeaseAsync(run.TenantId, run.Id, run.Version, new TurnLease(owner, now + options.Lease), now, cancellationToken))
            {
                throw new DomainException(
                    ErrorKind.Conflict,
                    ProblemCodes.TurnConflict,
                    "Turn lost a race",
                    "Another turn of this run is in progress or was just committed; this turn was not applied. Read the run and retry.");
            }

            keeper.HoldsRun = true;
        }

        if (keeper.HoldsRun || claim is not null)
        {
            keeper.renewing = keeper.RenewAsync();
        }

        return keeper;
    }

    /// <summary>The commit released the run's lease itself.</summary>
    public void Committed() => committed = true;

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await renewing;
        stop.Dispose();
        if (HoldsRun && !committed)
        {
            try
            {
                await runs.ReleaseLeaseAsync(run.TenantId, run.Id, Owner, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // Not fatal: the lease expires by itself.
                logger.LogWarning(ex, "Could not release the lease of run {RunId}", run.Id);
            }
        }
    }

    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(duration / 3, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                var lease = new TurnLease(Owner, clock.GetUtcNow() + duration);
                var kept = (!HoldsRun || await runs.RenewLeaseAsync(run.TenantId, run.Id, lease, stop.Token))
                    & (claim is null || await keys.RenewAsync(claim.TenantId, claim.Key, lease, stop.Token));
                if (!kept)
                {
                    // Another server took over after our lease lapsed; this turn's commit will be refused.
                    logger.LogWarning("Turn on run {RunId} lost its lease; it will not be applied", run.Id);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Renewing the lease of run {RunId} failed", run.Id);
        }
    }
}
