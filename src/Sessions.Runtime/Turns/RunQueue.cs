using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

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
    /// The owner of a worker's attempt at a queued turn: the turn's id, then the attempt's own, so that two workers
    /// that picked up the same turn never take each other's hold for their own.
    /// </summary>
    public static string WorkerOwner(QueuedTurn queued) => $"{queued.Id}/{Guid.NewGuid():n}";

    /// <summary>The queued turn a hold's owner works on (see <see cref="WorkerOwner"/>); any other owner names none.</summary>
    public static string? QueuedIdOf(string? owner) => owner?.Split('/')[0];

    /// <summary>Whether the turn that <paramref name="holder"/> runs is the run's first queued turn (a worker's).</summary>
    public static bool RunsHead(RunDocument run, string? holder) => holder is not null && run.Queue.Count > 0 && QueuedIdOf(holder) == run.Queue[0].Id;

    /// <summary>
    /// The number the next turn accepted on <paramref name="run"/> will have: after the run's turns, the turn that
    /// <paramref name="holder"/> runs now (it has not committed yet) unless that is the queue's first, and those queued.
    /// </summary>
    public static int NextTurnNumber(RunDocument run, string? holder) =>
        run.TurnNumber + (holder is not null && !RunsHead(run, holder) ? 1 : 0) + run.Queue.Count + 1;
}
