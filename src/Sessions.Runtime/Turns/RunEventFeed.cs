using System.Collections.Concurrent;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Wakes whoever follows a run in this process when one of its turns commits. Followers still read the events from
/// the store (the feed carries no data), and they also poll, so a commit made by another instance is seen too.
/// </summary>
public sealed class RunEventFeed
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> signals = new(StringComparer.Ordinal);

    /// <summary>
    /// A task that completes at the run's next commit. Take it before reading the store, then await it, so that a
    /// commit between the read and the wait is not missed.
    /// </summary>
    public Task NextCommit(string runId) =>
        signals.GetOrAdd(runId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Committed(string runId)
    {
        if (signals.TryRemove(runId, out var signal))
        {
            signal.TrySetResult();
        }
    }
}
