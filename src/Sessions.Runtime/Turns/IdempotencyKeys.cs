using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The rules of idempotency keys, once, over the stored key documents: a key is answered while its retention lasts,
/// in flight while the turn under it holds it, and free otherwise (never used, expired, or left by a turn that died).
/// On a store one process owns, a key in flight is held in memory, so a keyed turn still costs one durable write:
/// its commit, which stores the answer. On a shared store the claim is a version-checked write of the key, leased
/// like a run and renewed while the turn works.
/// </summary>
public sealed class IdempotencyKeys(IIdempotencyStore store, IRunStore runs, IOptions<TurnOptions> turnOptions, IOptions<IdempotencyOptions> options, TimeProvider clock)
{
    private const int Attempts = 4;

    private readonly ConcurrentDictionary<(string TenantId, string Key), KeyClaim> inMemory = new();

    /// <summary>Claims the key for this request, or says why not: answered already, or in flight.</summary>
    public async Task<KeyState> ClaimAsync(string tenantId, string key, string requestHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var claim = new KeyClaim(tenantId, key, requestHash, Guid.NewGuid().ToString("n"), now + TimeSpan.FromHours(options.Value.RetentionHours), now);
        return runs.OwnedByOneProcess
            ? await ClaimInMemoryAsync(claim, now, cancellationToken)
            : await ClaimStoredAsync(claim, cancellationToken);
    }

    /// <summary>Keeps a stored claim alive while its turn works; false when another request took the key over meanwhile.</summary>
    public async Task<bool> RenewAsync(KeyClaim claim, CancellationToken cancellationToken)
    {
        if (claim.Record is not { } held)
        {
            return true;
        }

        var renewed = held with { Version = held.Version + 1, Lease = new TurnLease(claim.Owner, clock.GetUtcNow() + turnOptions.Value.Lease) };
        if (!await store.TryWriteAsync(renewed, held.Version, cancellationToken))
        {
            return false;
        }

        claim.Record = renewed;
        return true;
    }

    /// <summary>The key with the turn's answer, for the turn's commit to write if the key is still as this claim left it.</summary>
    public IdempotentAnswer Answer(KeyClaim claim, string answer, string runId)
    {
        var expected = claim.Record?.Version ?? claim.StoredVersion;
        var record = new IdempotencyRecord(claim.TenantId, claim.Key, claim.RequestHash, expected + 1, null, answer, claim.RetainUntil, claim.CreatedAt) { RunId = runId };
        return new IdempotentAnswer(record, expected);
    }

    /// <summary>After the turn's commit stored the answer: a retry now finds it in the store.</summary>
    public void Committed(KeyClaim claim) => inMemory.TryRemove(new KeyValuePair<(string, string), KeyClaim>((claim.TenantId, claim.Key), claim));

    /// <summary>Gives the key back after a turn that wrote nothing, so that a corrected retry runs.</summary>
    public async Task ReleaseAsync(KeyClaim claim)
    {
        Committed(claim);
        if (claim.Record is { } held)
        {
            await store.TryDeleteAsync(claim.TenantId, claim.Key, held.Version, CancellationToken.None);
        }
    }

    /// <summary>Forgets keys past their retention.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) => store.PurgeExpiredAsync(clock.GetUtcNow(), cancellationToken);

    private async Task<KeyState> ClaimInMemoryAsync(KeyClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Held first, read second: a turn under the key removes its hold only after its answer is stored.
        if (!inMemory.TryAdd((claim.TenantId, claim.Key), claim))
        {
            return inMemory.TryGetValue((claim.TenantId, claim.Key), out var running)
                ? KeyState.InFlight(running.RequestHash, running.CreatedAt + turnOptions.Value.Lease)
                : await ClaimInMemoryAsync(claim, now, cancellationToken);
        }

        try
        {
            var stored = await store.GetAsync(claim.TenantId, claim.Key, cancellationToken);
            if (stored is { Answer: { } answer } && stored.RetainUntil > now)
            {
                Committed(claim);
                return KeyState.Answered(stored.RequestHash, answer);
            }

            claim.StoredVersion = stored?.Version ?? 0;
            return KeyState.Claimed(claim);
        }
        catch
        {
            Committed(claim);
            throw;
        }
    }

    private async Task<KeyState> ClaimStoredAsync(KeyClaim claim, CancellationToken cancellationToken)
    {
        // Most keys are new: try to create the key first, so that a fresh key costs one round trip, not a read and a write.
        var version = 0L;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var now = clock.GetUtcNow();
            if (attempt > 0)
            {
                var stored = await store.GetAsync(claim.TenantId, claim.Key, cancellationToken);
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

            var record = new IdempotencyRecord(claim.TenantId, claim.Key, claim.RequestHash, version + 1, new TurnLease(claim.Owner, now + turnOptions.Value.Lease), null, claim.RetainUntil, claim.CreatedAt);
            if (await store.TryWriteAsync(record, version, cancellationToken))
            {
                claim.Record = record;
                return KeyState.Claimed(claim);
            }
        }

        throw new InvalidOperationException($"Idempotency key '{claim.Key}' changed under {Attempts} claims in a row.");
    }
}

/// <summary>This request's hold on an idempotency key while its turn runs.</summary>
public sealed class KeyClaim(string tenantId, string key, string requestHash, string owner, DateTimeOffset retainUntil, DateTimeOffset createdAt)
{
    public string TenantId => tenantId;

    public string Key => key;

    public string RequestHash => requestHash;

    /// <summary>Also the owner of the turn's run lease, so that one turn holds both under one name.</summary>
    public string Owner => owner;

    public DateTimeOffset RetainUntil => retainUntil;

    public DateTimeOffset CreatedAt => createdAt;

    /// <summary>On a shared store: the key as this claim last wrote it.</summary>
    internal IdempotencyRecord? Record { get; set; }

    /// <summary>On a store one process owns: the version of the stored key (an expired one) the answer replaces; 0 if none.</summary>
    internal long StoredVersion { get; set; }
}

public enum KeyStatus
{
    /// <summary>This request holds the key now and must run its turn.</summary>
    Claimed,

    /// <summary>Another request with the key is still running.</summary>
    InFlight,

    /// <summary>A turn already answered under the key.</summary>
    Answered,
}

/// <summary>The key's state after a claim, with the hash of the request that holds it, and its answer or in-flight lease's end.</summary>
public sealed record KeyState(KeyStatus Status, string RequestHash, string? Answer, DateTimeOffset? InFlightUntil, KeyClaim? Claim)
{
    public static KeyState Claimed(KeyClaim claim) => new(KeyStatus.Claimed, claim.RequestHash, null, null, claim);

    public static KeyState InFlight(string requestHash, DateTimeOffset until) => new(KeyStatus.InFlight, requestHash, null, until, null);

    public static KeyState Answered(string requestHash, string answer) => new(KeyStatus.Answered, requestHash, answer, null, null);
}
