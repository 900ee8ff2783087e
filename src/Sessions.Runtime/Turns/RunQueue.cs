using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The rules of a run's queue of background turns (<see cref="RunDocument.Queue"/>). A turn that holds the run may
/// find, when it writes, that the run's version moved only because turns were appended to the queue meanwhile (the
/// one write allowed on a held run): it then writes again on top of them instead of losing its work or theirs.
/// </summary>
public static class RunQueue
{
    /// <summary>
    /// Whether <paramref name="current"/> is <paramref name="read"/> with turns appended to its queue and nothing else:
    /// the same turn, events and lease, and the queue it had, in order, at its head.
    /// </summary>
    public static bool OnlyAppended(RunDocument read, RunDocument current) =>
        current.Version > read.Version
        && current.TurnNumber == read.TurnNumber
        && current.LastSeq == read.LastSeq
        && current.Status == read.Status
        && current.Lease == read.Lease
        && current.Queue.Count > read.Queue.Count
        && read.Queue.Select(q => q.Id).SequenceEqual(current.Queue.Take(read.Queue.Count).Select(q => q.Id));

    /// <summary>The turns appended to <paramref name="current"/> since <paramref name="read"/> (see <see cref="OnlyAppended"/>).</summary>
    public static IReadOnlyList<QueuedTurn> AppendedSince(RunDocument read, RunDocument current) => current.Queue.Skip(read.Queue.Count).ToList();

    /// <summary>
    /// The number the next turn accepted on <paramref name="run"/> will have: after the run's turns, the turn that holds
    /// it now (if any; it has not committed yet) and those queued ahead.
    /// </summary>
    public static int NextTurnNumber(RunDocument run, bool held) => run.TurnNumber + (held && run.Queue.Count == 0 ? 1 : 0) + run.Queue.Count + 1;
}
