using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>Stamps the events of one turn with the run-wide seq, the turn number and the time.</summary>
internal sealed class EventRecorder(string runId, int turnNumber, long lastSeq, TimeProvider clock, Action<RunEvent>? onEvent)
{
    private readonly List<RunEvent> events = [];

    public IReadOnlyList<RunEvent> Events => events;

    public long LastSeq { get; private set; } = lastSeq;

    public void Record(RunEventType type, string? nodeId = null, JsonObject? fields = null)
    {
        var recorded = new RunEvent(runId, ++LastSeq, turnNumber, type, nodeId, clock.GetUtcNow(), fields ?? new JsonObject());
        events.Add(recorded);
        onEvent?.Invoke(recorded);
    }
}
