using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Contracts;

/// <summary>The body of `POST /v1/workflows/{workflow_id}/execute`. Unknown fields are accepted and ignored.</summary>
public sealed record ExecuteRequest(
    [property: Description("Absent on the first turn, which creates the run; echoed on every later turn.")] string? RunId = null,
    RunInput? RunInput = null,
    [property: Description("Optional: the turn number the client last saw. If the run is at another turn (another tab moved it), the turn is refused with 409 turn_mismatch.")] int? ExpectedTurn = null,
    [property: Description("Where some clients send it: as run_input.version_number (send one of the two); the query parameter wins.")] int? VersionNumber = null);

/// <summary>One event, flat: the common fields, then the fields of its type (text, prompt, cycle, ...).</summary>
public sealed class EventContract
{
    public long Seq { get; init; }

    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NodeId { get; init; }

    public int TurnNumber { get; init; }

    public DateTime Timestamp { get; init; }

    [JsonExtensionData]
    public Dictionary<string, object?>? Fields { get; init; }

    public static EventContract From(RunEvent e) => new()
    {
        Seq = e.Seq,
        Type = e.Type.ToWire(),
        NodeId = e.NodeId,
        TurnNumber = e.TurnNumber,
        Timestamp = e.Timestamp.UtcDateTime,
        Fields = e.Fields.Count == 0 ? null : e.Fields.ToDictionary(p => p.Key, p => (object?)p.Value?.DeepClone()),
    };
}

public sealed record InputHintContract(string NodeId, string Prompt, JsonObject Input)
{
    public static InputHintContract? From(JsonObject? hint) =>
        hint is null ? null : new(hint["node_id"]!.GetValue<string>(), hint["prompt"]!.GetValue<string>(), hint["input"]!.AsObject().DeepClone().AsObject());
}

/// <summary>The answer to one turn, field for field as in the published protocol.</summary>
public sealed record ExecuteResponse(
    string RunId,
    RunStatus Status,
    int TurnNumber,
    IReadOnlyList<EventContract> Events,
    bool IsWaitingForInput,
    [property: Description("True when the status is terminal: completed, failed, cancelled or aborted_looping_risk.")] bool IsCompleted,
    string? Error,
    InputHintContract? NextInputHint)
{
    public static ExecuteResponse From(TurnOutcome outcome) => new(
        outcome.Run.Id,
        outcome.Run.Status,
        outcome.Run.TurnNumber,
        outcome.Events.Select(EventContract.From).ToList(),
        outcome.IsWaitingForInput,
        outcome.IsCompleted,
        outcome.Run.Error,
        InputHintContract.From(outcome.NextInputHint));
}
