using System.Text.Json.Nodes;

namespace Sessions.Runtime.Runs;

/// <summary>One event of a run, keyed (run_id, seq). Its type-specific fields are flat on the wire, beside the common ones.</summary>
public sealed record RunEvent(string RunId, long Seq, int TurnNumber, RunEventType Type, string? NodeId, DateTimeOffset Timestamp, JsonObject Fields);
