using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Contracts;

/// <summary>The body of `POST /v1/workflows/{workflow_id}/execute`. Unknown fields are accepted and ignored.</summary>
public sealed record ExecuteRequest(
    [property: Description("Absent on the first turn, which creates the run; echoed on every later turn.")] string? RunId,
    RunInput? RunInput,
    [property: Description("Optional: the turn number the client last saw. If the run is at another turn (another tab moved it), the turn is refused with 409 turn_mismatch.")] int? ExpectedTurn = null);

public sealed record RunInput(
    [property: Description("start (default), data, resume, pause or stop.")] string? Command,
    [property: Description("The user's reply. Also accepted as dynamic_variables.user_message.")] string? UserMessage,
    [property: Description("Merged into the run's variables before the turn runs.")] JsonObject? DynamicVariables,
    [property: Description("Merged into the run's variables before dynamic_variables.")] JsonObject? RuntimeVariables,
    [property: Description("Kept with the turn's input; not used by the engine.")] JsonNode? Miscellaneous,
    [property: Description("Who started the run (first turn) or sent this turn.")] string? RunBy,
    [property: Description("The workflow version to run, first turn only; the query parameter wins.")] int? VersionNumber);

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
