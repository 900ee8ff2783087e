using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns.Gates;

/// <summary>
/// A turn's hold on its run (so that no other turn starts on it) and on its idempotency key (so that a retry waits
/// instead of running the turn twice) while it works, as its gate gave it. The commit expects the run as the hold last
/// knew it (<see cref="Stored"/>). A hold can be cancelled, by a stop or an interrupt: the turn then stops at its next
/// node boundary, or in the middle of a model or HTTP call, and commits nothing. Disposing it lets go of the run.
/// </summary>
public abstract class RunHold : IAsyncDisposable
{
    private readonly RunningTurns running;
    private readonly CancellationTokenSource cancellation = new();
    private RunningTurn? registered;
    private bool committed;

    protected RunHold(RunningTurns running, RunDocument run, string owner)
    {
        this.running = running;
        Stored = run;
        Owner = owner;
    }

    public string Owner { get; }

    /// <summary>The run as the store holds it now, as far as this hold knows: as read, or as its last write left it.</summary>
    public RunDocument Stored { get; protected set; }

    /// <summary>Cancelled when a stop or an interrupt took the run from this turn: the turn must then commit nothing.</summary>
    public CancellationToken Cancelled => cancellation.Token;

    public bool WasCancelled => cancellation.IsCancellationRequested;

    /// <summary>How far the turn has got, for readers of the run in this process; null for a run not stored yet.</summary>
    public TurnProgress? Progress => registered?.Progress;

    /// <summary>
    /// Whether the turn holds its run only in this process and has not reached outside the server: if its commit finds
    /// the run moved on, it did nothing anyone could see, and may start again.
    /// </summary>
    public virtual bool OnlyInMemory => false;

    protected bool HasCommitted => committed;

    /// <summary>
    /// Before a node that reaches outside the server: where the hold is only in memory and others may write the run, it
    /// takes the run here, so that what the node does outside happens for one turn only. Throws
    /// <see cref="RunMovedOnException"/> if the run moved on since it was read: nothing was done outside, nothing written.
    /// </summary>
    public virtual Task ReachingOutsideAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops keeping the hold alive and returns the run the commit must find; the commit clears any lease.</summary>
    public virtual Task<RunDocument> BeforeCommitAsync() => Task.FromResult(Stored);

    /// <summary>Takes the run as it now is, when only background turns were appended to it since this hold's last write.</summary>
    public void Adopt(RunDocument current) => Stored = current;

    public void Committed() => committed = true;

    /// <summary>
    /// Registers the turn as the one this process runs on the run (<see cref="RunningTurns"/>), so that a stop or an
    /// interrupt here can cancel it; false when another turn of the run runs here.
    /// </summary>
    protected bool TryRegister()
    {
        registered = running.TryEnter(Stored.TenantId, Stored.Id, Owner, Stored.TurnNumber + 1);
        registered?.Cancelled.Register(cancellation.Cancel);
        return registered is not null;
    }

    /// <summary>Cancels the turn: it was taken over on another server.</summary>
    protected Task CancelAsync() => cancellation.CancelAsync();

    public virtual ValueTask DisposeAsync()
    {
        if (registered is not null)
        {
            running.Exit(registered);
        }

        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A turn held without a lease found its run moved on (another turn committed, or took the lease) before it reached
/// outside the server or committed: it did nothing outside and wrote nothing, so it may start again from
/// <see cref="Current"/> (the run as the failed write found it, if it did) or be refused as a lost race.
/// </summary>
public sealed class RunMovedOnException(RunDocument? current) : Exception("The run moved on since this turn read it.")
{
    public RunDocument? Current { get; } = current;
}
