using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns.Answers;

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
        // The event's own fields, flat beside these, in its record's order; its values are written as they are, never copied.
        Fields = EventCatalogue.FieldValues(e.Payload),
    };
}

public sealed record InputHintContract(string NodeId, string Prompt, JsonObject Input)
{
    public static InputHintContract? From(JsonObject? hint) =>
        hint is null ? null : new(hint["node_id"]!.GetValue<string>(), hint["prompt"]!.GetValue<string>(), hint["input"]!.AsObject().DeepClone().AsObject());
}

/// <summary>
/// A background turn not finished yet: the `202 Accepted` of an execute sent with `Prefer: respond-async`, and of a
/// join whose wait ran out.
/// </summary>
public sealed record BackgroundTurnResponse(
    string RunId,
    [property: Description("running: the turn is queued or running.")] RunStatus Status,
    [property: Description("The turn this is about: join it at /v1/runs/{run_id}/turns/{turn_number}/result.")] int TurnNumber,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("How far the run's current turn has got (join answers only).")] ProgressContract? Progress = null)
{
    public static BackgroundTurnResponse Accepted(AcceptedTurn accepted) =>
        new(accepted.RunId, RunStatus.Running, accepted.TurnNumber, "Workflow execution started");

    public static BackgroundTurnResponse Pending(TurnResult pending) =>
        new(pending.Run.Id, RunStatus.Running, pending.TurnNumber, $"Turn {pending.TurnNumber} has not finished yet", ProgressContract.From(pending.Activity));
}

/// <summary>What a run is working on now.</summary>
public sealed record ProgressContract(
    [property: Description("The turn being worked on (running, or next to run).")] int TurnNumber,
    [property: Description("Nodes that turn has finished so far, or, while it runs a parallel node, that node's steps that have finished (0 until it starts, and when it runs on another server).")] int CompletedSteps,
    [property: Description("The node it is in now; null before it starts, and when it runs on another server.")] string? CurrentNode,
    [property: Description("Background turns queued behind it.")] int QueuedTurns,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("While the turn runs a parallel node: how many steps it has.")] int? TotalSteps = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("While the turn runs a parallel node: the steps running now.")] IReadOnlyList<string>? CurrentSteps = null)
{
    public static ProgressContract? From(RunActivity? activity) =>
        activity is null ? null
        : activity.Steps is { } steps ? new(activity.TurnNumber, steps.Completed, activity.CurrentNode, activity.QueuedTurns, steps.Total, steps.Current)
        : new(activity.TurnNumber, activity.CompletedSteps, activity.CurrentNode, activity.QueuedTurns);
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
