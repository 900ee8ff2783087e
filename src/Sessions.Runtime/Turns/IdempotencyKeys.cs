using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns.Gates;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The rules of idempotency keys, once, over the stored key documents: a key is answered while its retention lasts,
/// in flight while the turn under it holds it, and free otherwise (never used, expired, or left by a turn that died).
/// How a key in flight is held is the run gate's (<see cref="IRunGate.ClaimKeyAsync"/>): in memory where one process
/// owns the store, so a keyed turn still costs one durable write (its commit, which stores the answer); by a leased
/// claim in the store where servers share it.
/// </summary>
public sealed class IdempotencyKeys(IIdempotencyStore store, IRunGate gate, IOptions<IdempotencyOptions> options, TimeProvider clock)
{
    /// <summary>Claims the key for this request, or says why not: answered already, or in flight.</summary>
    public Task<KeyState> ClaimAsync(string tenantId, string key, string requestHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var claim = new KeyClaim(tenantId, key, requestHash, Guid.NewGuid().ToString("n"), now + TimeSpan.FromHours(options.Value.RetentionHours), now);
        return gate.ClaimKeyAsync(claim, cancellationToken);
    }

    /// <summary>The key with the turn's answer, for the turn's commit to write if the key is still as this claim left it.</summary>
    public IdempotentAnswer Answer(KeyClaim claim, string answer, string runId)
    {
        var expected = claim.Record?.Version ?? claim.StoredVersion;
        var record = new IdempotencyRecord(claim.TenantId, claim.Key, claim.RequestHash, expected + 1, null, answer, claim.RetainUntil, claim.CreatedAt) { RunId = runId };
        return new IdempotentAnswer(record, expected);
    }

    /// <summary>After the turn's commit stored the answer: a retry now finds it in the store.</summary>
    public void Committed(KeyClaim claim) => gate.LetGoOfKey(claim);

    /// <summary>Gives the key back after a turn that wrote nothing, so that a corrected retry runs.</summary>
    public async Task ReleaseAsync(KeyClaim claim)
    {
        gate.LetGoOfKey(claim);
        if (claim.Record is { } held)
        {
            await store.TryDeleteAsync(claim.TenantId, claim.Key, held.Version, CancellationToken.None);
        }
    }

    /// <summary>Forgets keys past their retention.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) => store.PurgeExpiredAsync(clock.GetUtcNow(), cancellationToken);
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
