using Sessions.Runtime.Nodes;
using System.Collections.Concurrent;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The turns running in this process, one per run: how far each has got, and a way to stop it. On a store one process
/// owns this is also the run's hold (no other process can take the run, and a process that dies takes its holds with
/// it); on a shared store the hold is the lease in the run, and this only lets a stop or an interrupt that reaches the
/// same process end the turn at once. Turns that wait for a busy run (<see cref="BusyPolicy.Enqueue"/>) line up here.
/// </summary>
public sealed class RunningTurns
{
    private readonly ConcurrentDictionary<(string TenantId, string RunId), RunningTurn> running = new();
    private readonly ConcurrentDictionary<(string TenantId, string RunId), WaitingLine> lines = new();

    /// <summary>
    /// Registers a turn on the run; null when another turn runs on it here (a turn never waits for another here), unless
    /// the run was handed over to this turn's owner (<see cref="HandOver"/>).
    /// </summary>
    public RunningTurn? TryEnter(string tenantId, string runId, string owner, int turnNumber)
    {
        var turn = new RunningTurn(tenantId, runId, owner, turnNumber);
        if (running.TryAdd((tenantId, runId), turn))
        {
            return turn;
        }

        return running.TryGetValue((tenantId, runId), out var reserved) && reserved.Owner == owner && reserved.Claim(turnNumber) ? reserved : null;
    }

    public RunningTurn? Find(string tenantId, string runId) => running.GetValueOrDefault((tenantId, runId));

    /// <summary>
    /// Cancels <paramref name="current"/> and reserves its run for <paramref name="successorOwner"/>: when it leaves, the
    /// run is the successor's at once, so that nothing (a worker looking again) takes it in between. The successor
    /// claims it by entering with that owner, or gives it up with <see cref="Release"/>.
    /// </summary>
    public RunningTurn HandOver(RunningTurn current, string successorOwner)
    {
        var successor = new RunningTurn(current.TenantId, current.RunId, successorOwner, current.TurnNumber, reserved: true);
        current.Successor = successor;
        current.Cancel();
        return successor;
    }

    /// <summary>Gives up a reservation made by <see cref="HandOver"/> that was not claimed.</summary>
    public void Release(RunningTurn reservation)
    {
        if (reservation.Unclaimed)
        {
            Exit(reservation);
        }
    }

    public void Exit(RunningTurn turn)
    {
        var key = (turn.TenantId, turn.RunId);
        if (turn.Successor is not { } successor || !running.TryUpdate(key, successor, turn))
        {
            running.TryRemove(new KeyValuePair<(string, string), RunningTurn>(key, turn));
        }

        turn.Ended();
    }

    /// <summary>
    /// Waits until every turn that lined up on the run before this one has left the line: turns enqueued on a busy run
    /// go in the order they arrived. Dispose the result to leave the line.
    /// </summary>
    public async Task<IDisposable> LineUpAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        var key = (tenantId, runId);
        while (true)
        {
            var line = lines.GetOrAdd(key, _ => new WaitingLine());
            var place = line.Join();
            if (place is null)
            {
                // The line emptied and was retired between lookup and joining: take the next one.
                lines.TryRemove(new KeyValuePair<(string, string), WaitingLine>(key, line));
                continue;
            }

            try
            {
                await place.Turn.WaitAsync(cancellationToken);
            }
            catch
            {
                line.Leave(place);
                throw;
            }

            return new Leaving(() =>
            {
                if (line.Leave(place))
                {
                    lines.TryRemove(new KeyValuePair<(string, string), WaitingLine>(key, line));
                }
            });
        }
    }

    private sealed class WaitingLine
    {
        private readonly LinkedList<Place> places = new();
        private bool retired;

        public Place? Join()
        {
            lock (places)
            {
                if (retired)
                {
                    return null;
                }

                var place = new Place();
                places.AddLast(place);
                if (places.Count == 1)
                {
                    place.Called.TrySetResult();
                }

                return place;
            }
        }

        /// <summary>Leaves the line and calls the next; true when the line is now empty (and retired).</summary>
        public bool Leave(Place place)
        {
            lock (places)
            {
                var wasFirst = places.First?.Value == place;
                places.Remove(place);
                if (wasFirst && places.First is { } next)
                {
                    next.Value.Called.TrySetResult();
                }

                retired = places.Count == 0;
                return retired;
            }
        }
    }

    private sealed class Place
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Turn => Called.Task;
    }

    private sealed class Leaving(Action leave) : IDisposable
    {
        private int left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref left, 1) == 0)
            {
                leave();
            }
        }
    }
}

/// <summary>A turn running in this process: who runs it, the turn number it will commit as, how far it has got.</summary>
public sealed class RunningTurn
{
    private readonly CancellationTokenSource cancellation = new();
    private readonly TaskCompletionSource ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int unclaimed;

    internal RunningTurn(string tenantId, string runId, string owner, int turnNumber, bool reserved = false)
    {
        TenantId = tenantId;
        RunId = runId;
        Owner = owner;
        TurnNumber = turnNumber;
        unclaimed = reserved ? 1 : 0;
    }

    public string TenantId { get; }

    public string RunId { get; }

    /// <summary>The owner of the turn's hold; for a background turn, <see cref="RunQueue.WorkerOwner"/> of its <see cref="QueuedTurn"/>.</summary>
    public string Owner { get; }

    public int TurnNumber { get; private set; }

    /// <summary>The turn the run goes to when this one leaves (see <see cref="RunningTurns.HandOver"/>).</summary>
    internal RunningTurn? Successor { get; set; }

    internal bool Unclaimed => Volatile.Read(ref unclaimed) == 1;

    public TurnProgress Progress { get; } = new();

    /// <summary>Set when a stop or an interrupt cancelled the turn; the turn then commits nothing.</summary>
    public CancellationToken Cancelled => cancellation.Token;

    /// <summary>Completes when the turn has left its run (committed, refused or cancelled).</summary>
    public Task Finished => ended.Task;

    public void Cancel() => cancellation.Cancel();

    internal bool Claim(int turnNumber)
    {
        if (Interlocked.Exchange(ref unclaimed, 0) != 1)
        {
            return false;
        }

        TurnNumber = turnNumber;
        return true;
    }

    // The source is not disposed: it has no timer, and a late Cancel must stay harmless.
    internal void Ended() => ended.TrySetResult();
}

/// <summary>How far a running turn has got: nodes finished, and the node it is in. Updated from its events as they are recorded.</summary>
public sealed class TurnProgress
{
    private int completedSteps;
    private string? currentNode;
    private StepsProgress? steps;

    public int CompletedSteps => Volatile.Read(ref completedSteps);

    public string? CurrentNode => Volatile.Read(ref currentNode);

    /// <summary>The steps of the `parallel` node the turn is in, if it is in one.</summary>
    public StepsProgress? Steps => Volatile.Read(ref steps);

    public void Observe(RunEvent recorded)
    {
        switch (recorded.Type)
        {
            case RunEventType.StartNodeRun:
                Volatile.Write(ref steps, null);
                Volatile.Write(ref currentNode, recorded.NodeId);
                break;
            case RunEventType.EndNodeRun:
                Volatile.Write(ref steps, null);
                Interlocked.Increment(ref completedSteps);
                break;
        }
    }

    public void ObserveSteps(StepsProgress progress) => Volatile.Write(ref steps, progress);
}
