using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns.Gates;

/// <summary>
/// The gate of a store one server process owns (the embedded SQLite file, which a second process cannot open): the
/// process keeps the turns of a run apart in memory (<see cref="RunningTurns"/>), and keeps a key in flight in memory
/// too, so a turn costs one durable write, its commit. A process that dies takes its holds with it.
/// </summary>
public sealed class InProcessRunGate(RunningTurns running, IIdempotencyStore keys, IOptions<TurnOptions> options, TimeProvider clock) : IRunGate
{
    private readonly ConcurrentDictionary<(string TenantId, string Key), KeyClaim> inFlight = new();

    public string? HolderOf(RunDocument run) =>
        running.Find(run.TenantId, run.Id) is { } here && here.TurnNumber > run.TurnNumber ? here.Owner : null;

    public Task<HoldAttempt> TryHoldAsync(RunDocument run, HoldTerms terms, CancellationToken cancellationToken)
    {
        // A turn never waits for another here: the run is taken at once or not at all.
        var hold = new LocalHold(running, run, terms.Owner);
        return Task.FromResult(new HoldAttempt(terms.NothingToHold || hold.TryTake() ? hold : null, null));
    }

    public async Task<Interruption?> InterruptHereAsync(RunDocument run, string owner, CancellationToken cancellationToken)
    {
        if (running.Find(run.TenantId, run.Id) is not { } local || local.Owner == owner)
        {
            return null;
        }

        // Handed over, so that the run is this turn's the moment the cancelled one lets go of it. Nothing else can take
        // the run from a turn of this process: one that does not stop in time keeps it, and this turn is refused.
        var reservation = running.HandOver(local, owner);
        var wait = TimeSpan.FromSeconds(options.Value.CancelWaitSeconds);
        if (await Task.WhenAny(local.Finished, Task.Delay(wait, clock, cancellationToken)) != local.Finished)
        {
            running.Release(reservation);
            throw TurnRefusals.Conflict($"The running turn did not stop within {options.Value.CancelWaitSeconds} s (Sessions:Turns:CancelWaitSeconds); this turn was not applied.");
        }

        return new Interruption(local.Owner, reservation);
    }

    public async Task<KeyState> ClaimKeyAsync(KeyClaim claim, CancellationToken cancellationToken)
    {
        // Held first, read second: a turn under the key lets go of it only after its answer is stored.
        var key = (claim.TenantId, claim.Key);
        while (!inFlight.TryAdd(key, claim))
        {
            if (inFlight.TryGetValue(key, out var holder))
            {
                return KeyState.InFlight(holder.RequestHash, holder.CreatedAt + options.Value.Lease);
            }
        }

        try
        {
            var stored = await keys.GetAsync(claim.TenantId, claim.Key, cancellationToken);
            if (stored is { Answer: { } answer } && stored.RetainUntil > clock.GetUtcNow())
            {
                LetGoOfKey(claim);
                return KeyState.Answered(stored.RequestHash, answer);
            }

            claim.StoredVersion = stored?.Version ?? 0;
            return KeyState.Claimed(claim);
        }
        catch
        {
            LetGoOfKey(claim);
            throw;
        }
    }

    public void LetGoOfKey(KeyClaim claim) =>
        inFlight.TryRemove(new KeyValuePair<(string, string), KeyClaim>((claim.TenantId, claim.Key), claim));

    /// <summary>A hold this process keeps: the turn registered as the run's, nothing in the store.</summary>
    private sealed class LocalHold(RunningTurns running, RunDocument run, string owner) : RunHold(running, run, owner)
    {
        public bool TryTake() => TryRegister();
    }
}
