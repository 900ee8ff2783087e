namespace Sessions.Runtime.Turns;

/// <summary>
/// Tells this process's worker that a run has work due now (a background turn was accepted, or a turn left more
/// queued), so that it looks at once instead of at its next poll. Only a hint: the work itself is in the store, and
/// every worker's poll finds it anyway.
/// </summary>
public sealed class WorkSignal
{
    private TaskCompletionSource signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Due() => signal.TrySetResult();

    /// <summary>A task that completes at the next <see cref="Due"/> (or at once, if one came since the last call).</summary>
    public Task NextAsync()
    {
        var current = Volatile.Read(ref signal);
        if (!current.Task.IsCompleted)
        {
            return current.Task;
        }

        Interlocked.CompareExchange(ref signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        return Task.CompletedTask;
    }
}
