using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs;

/// <summary>The statuses of the wire protocol; their snake_case names are what clients see and what stores keep.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
public enum RunStatus
{
    [JsonStringEnumMemberName("not_started")] NotStarted,
    [JsonStringEnumMemberName("started")] Started,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("paused")] Paused,
    [JsonStringEnumMemberName("waiting_for_user_input")] WaitingForUserInput,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    [JsonStringEnumMemberName("aborted_looping_risk")] AbortedLoopingRisk,
}

public static class RunStatusNames
{
    public static string ToWire(this RunStatus status) => WireNames<RunStatus>.Of(status);

    public static RunStatus FromWire(string name) => WireNames<RunStatus>.Parse(name);

    public static IEnumerable<string> All => WireNames<RunStatus>.All;
}
