using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs.Events;

/// <summary>
/// What an event says beside its common fields (seq, node, turn, time): one record per event type, in
/// <see cref="EventCatalogue"/>. Its JSON is the published protocol's, field for field and in order: on the wire these
/// fields sit flat beside the common ones, and the `type` discriminator names the record.
/// </summary>
/// <remarks>
/// Records that are read back (from a store, or from the wire) keep any field they do not declare in
/// <see cref="Unknown"/>, and write it again after their own: an event written by a newer server loses nothing here.
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(WorkflowStarted), "start_workflow")]
[JsonDerivedType(typeof(WorkflowWarned), "workflow_warning")]
[JsonDerivedType(typeof(UserMessage), "user_messages")]
[JsonDerivedType(typeof(Said), "say_static")]
[JsonDerivedType(typeof(InputAwaited), "busy_wait_for_user_message")]
[JsonDerivedType(typeof(Paused), "pause_event")]
[JsonDerivedType(typeof(NodeStarted), "start_node_run")]
[JsonDerivedType(typeof(NodeEnded), "end_node_run")]
[JsonDerivedType(typeof(DirectEdgeTaken), "direct_edge")]
[JsonDerivedType(typeof(ConditionalEdgeTaken), "conditional_edge")]
[JsonDerivedType(typeof(StateShown), "show_state")]
[JsonDerivedType(typeof(SelfLoopRepeated), "self_loop_edge")]
[JsonDerivedType(typeof(SelfLoopExhausted), "self_loop_exhausted")]
[JsonDerivedType(typeof(HttpRequestMade), "http_request")]
[JsonDerivedType(typeof(ModelCalled), "llm")]
[JsonDerivedType(typeof(ModelAsked), "llm_condition")]
[JsonDerivedType(typeof(ConditionTimedOut), "condition_timeout")]
[JsonDerivedType(typeof(ErrorRaised), "error")]
[JsonDerivedType(typeof(LoopRiskAborted), "aborted_looping_risk")]
[JsonDerivedType(typeof(Cancelled), "cancelled")]
[JsonDerivedType(typeof(WorkflowEnded), "end_workflow")]
[JsonDerivedType(typeof(WaitTimedOut), "wait_timeout")]
[JsonDerivedType(typeof(TimerFired), "timer_fired")]
[JsonDerivedType(typeof(TurnRefused), "turn_refused")]
[JsonDerivedType(typeof(RunRetried), "run_retried")]
[JsonDerivedType(typeof(StepAttempted), "step_attempt")]
[JsonDerivedType(typeof(StepsKept), "steps_kept")]
public abstract record RunEventPayload
{
    /// <summary>The event's type: the discriminator its record is registered under above.</summary>
    [JsonIgnore]
    public RunEventType Type => EventCatalogue.TypeOf(GetType());

    /// <summary>The step of a `parallel` node whose attempt recorded this event; null outside steps.</summary>
    [JsonPropertyName("step_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StepId { get; init; }

    /// <summary>That step's attempt, from 1.</summary>
    [JsonPropertyName("attempt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Attempt { get; init; }

    /// <summary>Fields a record read back does not declare, kept as they were.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; init; }

    /// <summary>The same event, recorded by an attempt of a step: it says which.</summary>
    public RunEventPayload InStep(string stepId, int attempt) => this with { StepId = stepId, Attempt = attempt };
}

/// <summary>An event that is a line of the conversation a run remembers for model calls that include it.</summary>
public interface IConversationLine
{
    /// <summary>`user` or `assistant`.</summary>
    string Role { get; }

    string Text { get; }
}

/// <summary>A call to a model, whose tokens and latency the run adds up.</summary>
public interface IModelCall
{
    string Model { get; }

    int InputTokens { get; }

    int OutputTokens { get; }

    double LatencyMs { get; }
}
