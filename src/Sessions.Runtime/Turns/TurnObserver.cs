using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Watches a turn as it runs, for streaming: each event as it is recorded, and partial model text (a delta) as it
/// arrives. Deltas are never stored; events are stored only if the turn commits.
/// </summary>
public sealed class TurnObserver
{
    public Action<RunEvent>? OnEvent { get; init; }

    public Action<string, string>? OnDelta { get; init; }
}
