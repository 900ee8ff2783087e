using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Runs;

/// <summary>One event of a run, keyed (run_id, seq): where and when it happened, and what (<see cref="Payload"/>, whose fields are flat on the wire beside these).</summary>
public sealed record RunEvent(string RunId, long Seq, int TurnNumber, string? NodeId, DateTimeOffset Timestamp, RunEventPayload Payload)
{
    public RunEventType Type => Payload.Type;
}
