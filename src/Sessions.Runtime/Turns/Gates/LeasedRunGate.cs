using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Telemetry;

namespace Sessions.Runtime.Turns.Gates;

/// <summary>
/// The gate of a store servers share (PostgreSQL, MongoDB): a turn holds its run by a lease in the run document, taken
/// with a version-checked write and renewed every third of its length, and its idempotency key by a lease in the key's
/// document likewise. A turn may also start without the lease (<see cref="HoldTerms.LeaseLater"/>): it is then held in
/// this process only, and takes the lease just before its first node that reaches outside the server. A turn that never
/// does (it only steps in memory) writes once, its commit, whose version check alone makes it lose to any turn that wrote
/// the run since it was read; having done nothing outside, such a turn may start again. If this server dies, its leases
/// simply expire. A stop or an interrupt on another server takes the lease over; the turn that had it notices within
/// <see cref="WatchInterval"/> and stops.
/// </summary>
public sealed class LeasedRunGate(
    IRunStore runs, IIdempotencyStore keys, RunningTurns running, IOptions<TurnOptions> options, TimeProvider clock, ILogger<LeasedRunGate> logger) : IRunGate
{
    // Fields, not captured parameters: its holds (nested below) work with them.
    private readonly IRunStore runs = runs;
    private readonly IIdempotencyStore keys = keys;
    private readonly RunningTurns running = running;
    private readonly IOptions<TurnOptions> options = options;
    private readonly TimeProvider clock = clock;
    private readonly ILogger<LeasedRunGate> logger = logger;

    /// <summary>How often a turn looks whether a stop or an interrupt on another server took its run.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    private const int ClaimAttempts = 4;

    public string? HolderOf(RunDocument run) =>
        running.Find(run.TenantId, run.Id) is { } here && here.TurnNumber > run.TurnNumber ? here.Owner
        : run.Lease is { } lease && lease.ExpiresAt > clock.GetUtcNow() ? lease.Owner
        : null;

    public async Task<HoldAttempt> TryHoldAsync(RunDocument run, HoldTerms terms, CancellationToken cancellationToken)
    {
        var hold = new LeasedHold(this, run, terms);
        if (terms.NothingToHold)
        {
            hold.Start();
            return new HoldAttempt(hold, null);
        }

        if (!await hold.TakeAsync(cancellationToken))
        {
            await hold.DisposeAsync();
            return new HoldAttempt(null, hold.Found is { } current && current.Version != run.Version ? current : null);
        }

        hold.Start();
        return new HoldAttempt(hold, null);
    }

    public async Task<Interruption?> InterruptHereAsync(RunDocument run, string owner, CancellationToken cancellationToken)
    {
        if (running.Find(run.TenantId, run.Id) is not { } local || local.Owner == owner)
        {
            return null;
        }

        // A turn that does not stop in time loses the run anyway: taking its lease over refuses its commit.
        var reservation = running.HandOver(local, owner);
        await Task.WhenAny(local.Finished, Task.Delay(TimeSpan.FromSeconds(options.Value.CancelWaitSeconds), clock, cancellationToken));
        return new Interruption(local.Owner, reservation);
    }

    public async Task<KeyState> ClaimKeyAsync(KeyClaim claim, CancellationToken cancellationToken)
    {
        // Most keys are new: try to create the key first, so that a fresh key costs one round trip, not a read and a write.
        var version = 0L;
        for (var attempt = 0; attempt < ClaimAttempts; attempt++)
        {
            var now = clock.GetUtcNow();
            if (attempt > 0)
            {
                var stored = await keys.GetAsync(claim.TenantId, claim.Key, cancellationToken);
                if (stored is { Answer: { } answer } && stored.RetainUntil > now)
                {
                    return KeyState.Answered(stored.RequestHash, answer);
                }

                if (stored is { Answer: null, Lease: { } lease } && lease.ExpiresAt > now)
                {
                    return KeyState.InFlight(stored.RequestHash, lease.ExpiresAt);
                }

                // Gone meanwhile, past its retention, or left behind by a turn whose server died: this request takes it.
                version = stored?.Version ?? 0;
            }

            var record = new IdempotencyRecord(claim.TenantId, claim.Key, claim.RequestHash, version + 1, new TurnLease(claim.Owner, now + options.Value.Lease), null, claim.RetainUntil, claim.CreatedAt);
            if (await keys.TryWriteAsync(record, version, cancellationToken))
            {
                claim.Record = record;
                return KeyState.Claimed(claim);
            }
        }

        throw new InvalidOperationException($"Idempotency key '{claim.Key}' changed under {ClaimAttempts} claims in a row.");
    }

    /// <summary>A stored claim is let go of by its turn's commit (which stores the answer) or by deleting it.</summary>
    public void LetGoOfKey(KeyClaim claim)
    {
    }

    /// <summary>Keeps a stored claim alive while its turn works; false when another request took the key over meanwhile.</summary>
    private async Task<bool> RenewKeyAsync(KeyClaim claim)
    {
        if (claim.Record is not { } held)
        {
            return true;
        }

        var renewed = held with { Version = held.Version + 1, Lease = new TurnLease(claim.Owner, clock.GetUtcNow() + options.Value.Lease) };
        if (!await keys.TryWriteAsync(renewed, held.Version, CancellationToken.None))
        {
            return false;
        }

        claim.Record = renewed;
        return true;
    }

    /// <summary>A lease on the run in the store (or, until the turn reaches outside, a hold in this process), and on its key.</summary>
    private sealed class LeasedHold : RunHold
    {
        private readonly LeasedRunGate gate;
        private readonly HoldTerms terms;
        private readonly CancellationTokenSource stop = new();
        private Task renewing = Task.CompletedTask;
        private Task watching = Task.CompletedTask;
        private volatile bool leased;
        private bool leaseLater;

        public LeasedHold(LeasedRunGate gate, RunDocument run, HoldTerms terms)
            : base(gate.running, run, terms.Owner)
        {
            this.gate = gate;
            this.terms = terms;
        }

        /// <summary>The run as a lease write that failed found it, if one did.</summary>
        public RunDocument? Found { get; private set; }

        /// <summary>The lease the run had when this hold's last write replaced it (another turn's, when taken over).</summary>
        private TurnLease? Taken { get; set; }

        public override bool OnlyInMemory => leaseLater;

        /// <summary>Takes the run: in this process only, to lease later; or by its lease now.</summary>
        public async Task<bool> TakeAsync(CancellationToken cancellationToken)
        {
            if (terms is { LeaseLater: true, Preempt: false })
            {
                leaseLater = TryRegister();
                return leaseLater;
            }

            var now = gate.clock.GetUtcNow();
            leased = (terms.Preempt || RunLeases.MayTake(Stored, Owner, now))
                && await TryWriteAsync(current => RunLeases.Taken(current, new TurnLease(Owner, now + gate.options.Value.Lease)), cancellationToken);

            if (leased)
            {
                CountTakeover(now);
                // False when a turn of this run that this process still runs has lost its lease (it expired): that one only
                // lingers, and this turn goes on without being registered here.
                TryRegister();
            }

            return leased;
        }

        public void Start()
        {
            if (leased || terms.Claim is { Record: not null })
            {
                renewing = RenewAsync();
            }

            if (leased)
            {
                watching = WatchAsync();
            }
        }

        public override async Task ReachingOutsideAsync(CancellationToken cancellationToken)
        {
            if (!leaseLater)
            {
                return;
            }

            leaseLater = false;
            var now = gate.clock.GetUtcNow();
            if (!RunLeases.MayTake(Stored, Owner, now)
                || !await TryWriteAsync(current => RunLeases.Taken(current, new TurnLease(Owner, now + gate.options.Value.Lease)), cancellationToken))
            {
                throw new RunMovedOnException(Found);
            }

            leased = true;
            CountTakeover(now);
            if (renewing.IsCompleted)
            {
                renewing = RenewAsync();
            }

            watching = WatchAsync();
        }

        public override async Task<RunDocument> BeforeCommitAsync()
        {
            await StopRenewingAsync();
            return Stored;
        }

        public override async ValueTask DisposeAsync()
        {
            await StopRenewingAsync();
            stop.Dispose();
            if (leased && !HasCommitted && !WasCancelled)
            {
                try
                {
                    // Given back so that the next turn need not wait for it to expire; if this fails, it expires by itself.
                    await TryWriteAsync(RunLeases.Released, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    gate.logger.LogWarning(ex, "Could not release the lease of run {RunId}", Stored.Id);
                }
            }

            await base.DisposeAsync();
        }

        private void CountTakeover(DateTimeOffset now) => TurnTelemetry.CountTakeover(Taken, Owner, now);

        /// <summary>
        /// Writes <paramref name="change"/> of the run as this hold knows it, with the version check; if the run moved only
        /// because background turns were appended, writes the change again on top of them.
        /// </summary>
        private async Task<bool> TryWriteAsync(Func<RunDocument, RunDocument> change, CancellationToken cancellationToken)
        {
            while (true)
            {
                var next = change(Stored);
                var written = await gate.runs.TryReplaceAsync(next, Stored.Version, WriteDurability.Provisional, cancellationToken);
                if (written.Written)
                {
                    Taken = Stored.Lease;
                    Stored = next;
                    return true;
                }

                SessionsTelemetry.StoreConflicts.Add(1, new KeyValuePair<string, object?>(SessionsTelemetry.StoreWrite, "lease"));

                if (written.Current is { } current && RunQueue.OnlyAppended(Stored, current))
                {
                    Stored = current;
                    continue;
                }

                Found = written.Current;
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
            var length = gate.options.Value.Lease;
            using var timer = new PeriodicTimer(length / 3, gate.clock);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    // Not cancelled once started: the commit must know whether this write happened, to expect its version.
                    var lease = new TurnLease(Owner, gate.clock.GetUtcNow() + length);
                    var kept = (!leased || await TryWriteAsync(run => RunLeases.Taken(run, lease), CancellationToken.None))
                        & (terms.Claim is null || await gate.RenewKeyAsync(terms.Claim));
                    if (!kept)
                    {
                        // Another server took over after our lease lapsed: this turn's commit will be refused.
                        gate.logger.LogWarning("Turn on run {RunId} lost its lease; it will not be applied", Stored.Id);
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                gate.logger.LogWarning(ex, "Renewing the lease of run {RunId} failed", Stored.Id);
            }
        }

        /// <summary>Cancels the turn once the run's lease is no longer its own (a stop or an interrupt took it).</summary>
        private async Task WatchAsync()
        {
            using var timer = new PeriodicTimer(WatchInterval, gate.clock);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var current = await gate.runs.GetAsync(Stored.TenantId, Stored.Id, stop.Token);
                    if (current?.Lease?.Owner != Owner)
                    {
                        gate.logger.LogInformation("Turn on run {RunId} was taken over by a stop or an interrupt; cancelling it", Stored.Id);
                        await CancelAsync();
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                gate.logger.LogWarning(ex, "Watching the lease of run {RunId} failed", Stored.Id);
            }
        }
    }
}
