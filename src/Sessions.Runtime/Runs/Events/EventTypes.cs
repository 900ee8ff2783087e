using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs.Events;

// One record per event type, its fields in the order the protocol writes them. A field the protocol writes only when it
// applies is ignored when null; every other field is written, null or not.

/// <summary>`start_workflow`: the run began, on this version of its workflow.</summary>
public sealed record WorkflowStarted(
    [property: JsonPropertyName("workflow_id")] string WorkflowId,
    [property: JsonPropertyName("version_number")] int VersionNumber) : RunEventPayload;

/// <summary>`workflow_warning`: something the workflow's upload warned about, repeated where the run starts.</summary>
public sealed record WorkflowWarned(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("message")] string Message) : RunEventPayload;

/// <summary>`user_messages`: the person's reply (or, for a file alone, its name), and the file it brought.</summary>
public sealed record UserMessage(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("file"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? File = null) : RunEventPayload, IConversationLine
{
    string IConversationLine.Role => "user";
}

/// <summary>`say_static`: what the workflow said.</summary>
public sealed record Said([property: JsonPropertyName("text")] string Text) : RunEventPayload, IConversationLine
{
    string IConversationLine.Role => "assistant";
}

/// <summary>`busy_wait_for_user_message`: the run waits for input; the question, and the input it takes.</summary>
public sealed record InputAwaited(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("input")] JsonObject Input) : RunEventPayload;

/// <summary>`pause_event`: the run paused; `pause node` or `pause command`.</summary>
public sealed record Paused([property: JsonPropertyName("reason")] string Reason) : RunEventPayload
{
    public const string ByNode = "pause node";
    public const string ByCommand = "pause command";
}

/// <summary>`start_node_run`: a node began.</summary>
public sealed record NodeStarted : RunEventPayload;

/// <summary>`end_node_run`: a node finished.</summary>
public sealed record NodeEnded : RunEventPayload;

/// <summary>`direct_edge`: the run followed a node's one way on.</summary>
public sealed record DirectEdgeTaken(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To) : RunEventPayload;

/// <summary>`conditional_edge`: the run followed a branch's case (its index and condition) or its default.</summary>
public sealed record ConditionalEdgeTaken(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("case")] JsonObject Case) : RunEventPayload;

/// <summary>`show_state`: the variables after a `set` node.</summary>
public sealed record StateShown([property: JsonPropertyName("variables")] JsonObject Variables) : RunEventPayload;

/// <summary>`self_loop_edge`: a node runs again, because it failed (with its error) or its `while` still holds.</summary>
public sealed record SelfLoopRepeated : RunEventPayload
{
    public const string BecauseFailed = "failed";
    public const string BecauseWhile = "while";

    // The attempt about to run, which is no step's: it hides the base's, which says which step recorded an event.
    [JsonPropertyName("attempt")]
    public new required int Attempt { get => base.Attempt ?? 0; init => base.Attempt = value; }

    /// <summary><see cref="BecauseFailed"/> or <see cref="BecauseWhile"/>.</summary>
    [JsonPropertyName("reason")]
    public required string Reason { get; init; }

    [JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }
}

/// <summary>`self_loop_exhausted`: a node's self-loop may not run it again (`max_retries` or `expired`).</summary>
public sealed record SelfLoopExhausted(
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("reason")] string Reason) : RunEventPayload;

/// <summary>`http_request`: an `http_request` node's call, its URL with secrets masked, after its retries.</summary>
public sealed record HttpRequestMade(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("status_code")] int StatusCode,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("latency_ms")] double LatencyMs) : RunEventPayload;

/// <summary>`llm`: an `llm` node's call to its model, and the reply.</summary>
public sealed record ModelCalled(
    [property: JsonPropertyName("mode"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LlmMode? Mode,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("input_tokens")] int InputTokens,
    [property: JsonPropertyName("output_tokens")] int OutputTokens,
    [property: JsonPropertyName("latency_ms")] double LatencyMs,
    [property: JsonPropertyName("fallback_used")] bool FallbackUsed,
    [property: JsonPropertyName("text")] string Text) : RunEventPayload, IModelCall;

/// <summary>`llm_condition`: a branch put a yes/no question to a model; its answer, and the model's own words.</summary>
public sealed record ModelAsked(
    [property: JsonPropertyName("question")] string Question,
    [property: JsonPropertyName("answer")] string Answer,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("input_tokens")] int InputTokens,
    [property: JsonPropertyName("output_tokens")] int OutputTokens,
    [property: JsonPropertyName("latency_ms")] double LatencyMs,
    [property: JsonPropertyName("fallback_used")] bool FallbackUsed,
    [property: JsonPropertyName("reply")] string Reply) : RunEventPayload, IModelCall;

/// <summary>`condition_timeout`: a pattern ran out of its time on a variable, and so did not match.</summary>
public sealed record ConditionTimedOut(
    [property: JsonPropertyName("var")] string Variable,
    [property: JsonPropertyName("pattern")] string Pattern,
    [property: JsonPropertyName("budget_ms")] long BudgetMs,
    [property: JsonPropertyName("result")] string Result = ConditionTimedOut.NoMatch) : RunEventPayload
{
    public const string NoMatch = "no_match";
}

/// <summary>`error`: a node failed, or the turn passed a limit.</summary>
public sealed record ErrorRaised([property: JsonPropertyName("error")] string? Error) : RunEventPayload;

/// <summary>`aborted_looping_risk`: the loop guard stopped the run in this cycle of nodes.</summary>
public sealed record LoopRiskAborted(
    [property: JsonPropertyName("cycle")] IReadOnlyList<string> Cycle,
    [property: JsonPropertyName("error")] string Error) : RunEventPayload;

/// <summary>`cancelled`: the run was stopped or cancelled, and why.</summary>
public sealed record Cancelled([property: JsonPropertyName("reason")] string Reason) : RunEventPayload;

/// <summary>`end_workflow`: the run finished: how, its output, its error.</summary>
public sealed record WorkflowEnded(
    [property: JsonPropertyName("status")] RunStatus Status,
    [property: JsonPropertyName("output"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonNode? Output = null,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null) : RunEventPayload;

/// <summary>`wait_timeout`: a question's wait ran out at its deadline.</summary>
public sealed record WaitTimedOut(
    [property: JsonPropertyName("deadline"), JsonConverter(typeof(EventTime))] DateTimeOffset Deadline) : RunEventPayload;

/// <summary>`timer_fired`: a pause's timer resumed the run at its deadline.</summary>
public sealed record TimerFired(
    [property: JsonPropertyName("deadline"), JsonConverter(typeof(EventTime))] DateTimeOffset Deadline) : RunEventPayload;

/// <summary>
/// `turn_refused`: a background turn that its run, as it then stood, refused: the problem a synchronous turn would
/// have answered, so that joining the turn answers it again.
/// </summary>
public sealed record TurnRefused(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("extensions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? Extensions = null) : RunEventPayload;

/// <summary>`run_retried`: the `retry` command ran a failed run again: the failed turn, its error, and the version moved from.</summary>
public sealed record RunRetried(
    [property: JsonPropertyName("failed_turn")] int FailedTurn,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("version_number")] int VersionNumber,
    [property: JsonPropertyName("from_version_number"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? FromVersionNumber = null) : RunEventPayload;

/// <summary>`step_attempt`: one attempt of one step of a `parallel` node, whether it was the fallback, and its outputs or error.</summary>
public sealed record StepAttempted : RunEventPayload
{
    public const string Completed = "completed";
    public const string Failed = "failed";

    // The step and attempt are this event's own subject, written first; they hide the base's, which say which step
    // recorded an event.
    [JsonPropertyName("step_id")]
    public new required string StepId { get => base.StepId!; init => base.StepId = value; }

    [JsonPropertyName("attempt")]
    public new required int Attempt { get => base.Attempt ?? 0; init => base.Attempt = value; }

    [JsonPropertyName("fallback")]
    public required bool Fallback { get; init; }

    /// <summary><see cref="Completed"/> or <see cref="Failed"/>.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("started_at"), JsonConverter(typeof(EventTime))]
    public required DateTimeOffset StartedAt { get; init; }

    [JsonPropertyName("ended_at"), JsonConverter(typeof(EventTime))]
    public required DateTimeOffset EndedAt { get; init; }

    [JsonPropertyName("outputs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Outputs { get; init; }

    [JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }
}

/// <summary>`steps_kept`: a retried `parallel` node kept these steps' outputs from before it failed, and does not run them again.</summary>
public sealed record StepsKept([property: JsonPropertyName("steps")] IReadOnlyList<string> Steps) : RunEventPayload;
