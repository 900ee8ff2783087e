using System.Collections.Concurrent;

namespace Sessions.Api.Hosting;

/// <summary>
/// What `/health` asks of this process beyond its store answering: that the store was prepared (its migrations ran,
/// <see cref="StoreInitialization"/>), and that each background worker (<see cref="PollingService"/>) still looks for
/// its work. A worker that has not looked for three of its intervals and half a minute more is stuck or dead.
/// </summary>
public sealed class Readiness(TimeProvider clock)
{
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, TimeSpan Interval)> looks = new();

    public bool StorePrepared { get; private set; }

    public void StoreIsPrepared() => StorePrepared = true;

    /// <summary>A worker is looking for its work now (or has just started, or finished a look).</summary>
    public void Looking(string work, TimeSpan interval) => looks[work] = (clock.GetUtcNow(), interval);

    /// <summary>Workers that have not looked for too long, each with how long ago they last did.</summary>
    public IReadOnlyList<(string Work, TimeSpan Since)> StuckWorkers()
    {
        var now = clock.GetUtcNow();
        return looks
            .Select(look => (Work: look.Key, Since: now - look.Value.At, Allowed: 3 * look.Value.Interval + Slack))
            .Where(look => look.Since > look.Allowed)
            .Select(look => (look.Work, look.Since))
            .OrderBy(look => look.Work, StringComparer.Ordinal)
            .ToList();
    }
}
