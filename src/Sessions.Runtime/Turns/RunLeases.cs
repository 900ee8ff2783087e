using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The one rule of who may work on a run when, over the run document's own <see cref="RunDocument.Lease"/>. Stores
/// never decide it: they only write a document if its version is still the one the rule was applied to.
/// </summary>
public static class RunLeases
{
    /// <summary>A turn may take the run when nobody holds it, when its holder let the lease run out, or when it is its own.</summary>
    public static bool MayTake(RunDocument run, string owner, DateTimeOffset now) =>
        run.Lease is not { } lease || lease.Owner == owner || lease.ExpiresAt <= now;

    /// <summary>The run as it is stored while <paramref name="lease"/> holds it: the next version, with the lease.</summary>
    public static RunDocument Taken(RunDocument run, TurnLease lease) => run with { Version = run.Version + 1, Lease = lease };

    /// <summary>
    /// Whether writing over <paramref name="previous"/> (the lease the run had) takes it from another turn: `expired` when
    /// its holder let it run out (its server died or stalled), `preempted` when it was still live (a stop or interrupt
    /// took it); null when it was no one's or this turn's own.
    /// </summary>
    public static string? TakeoverOf(TurnLease? previous, string owner, DateTimeOffset now) =>
        previous is { } lease && lease.Owner != owner ? lease.ExpiresAt > now ? "preempted" : "expired" : null;

    /// <summary>The run given back without a change: the next version, with no lease.</summary>
    public static RunDocument Released(RunDocument run) => run with { Version = run.Version + 1, Lease = null };
}
