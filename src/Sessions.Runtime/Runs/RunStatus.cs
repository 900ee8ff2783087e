using System.Reflection;
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
    // Read from the enum's JSON names, so the wire names are written in one place only.
    private static readonly Dictionary<RunStatus, string> Names = Enum.GetValues<RunStatus>().ToDictionary(
        status => status,
        status => typeof(RunStatus).GetField(status.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()!.Name);

    private static readonly Dictionary<string, RunStatus> ByName = Names.ToDictionary(p => p.Value, p => p.Key);

    public static string ToWire(this RunStatus status) => Names[status];

    public static RunStatus FromWire(string name) =>
        ByName.TryGetValue(name, out var status) ? status : throw new FormatException($"Unknown run status '{name}'.");

    public static IEnumerable<string> All => Names.Values;
}
