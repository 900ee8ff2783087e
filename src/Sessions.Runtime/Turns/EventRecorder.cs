using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns;

/// <summary>Stamps the events of one turn with the run-wide seq, the turn number and the time.</summary>
internal sealed class EventRecorder(string runId, int turnNumber, long lastSeq, TimeProvider clock, Action<RunEvent>? onEvent)
{
    private readonly List<RunEvent> events = [];

    public IReadOnlyList<RunEvent> Events => events;

    public long LastSeq { get; private set; } = lastSeq;

    public void Record(RunEventPayload payload, string? nodeId = null)
    {
        var recorded = new RunEvent(runId, ++LastSeq, turnNumber, nodeId, clock.GetUtcNow(), payload);
        events.Add(recorded);
        onEvent?.Invoke(recorded);
    }
}
