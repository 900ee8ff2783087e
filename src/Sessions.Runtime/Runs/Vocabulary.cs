using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs;

/// <summary>
/// Every kind of event a run records, by the published protocol's wire names. Each has its record, with its fields, in
/// <see cref="Events.EventCatalogue"/>.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunEventType>))]
public enum RunEventType
{
    [JsonStringEnumMemberName("start_workflow")] StartWorkflow,
    [JsonStringEnumMemberName("workflow_warning")] WorkflowWarning,
    [JsonStringEnumMemberName("user_messages")] UserMessages,
    [JsonStringEnumMemberName("say_static")] SayStatic,
    [JsonStringEnumMemberName("busy_wait_for_user_message")] BusyWaitForUserMessage,
    [JsonStringEnumMemberName("pause_event")] PauseEvent,
    [JsonStringEnumMemberName("start_node_run")] StartNodeRun,
    [JsonStringEnumMemberName("end_node_run")] EndNodeRun,
    [JsonStringEnumMemberName("direct_edge")] DirectEdge,
    [JsonStringEnumMemberName("conditional_edge")] ConditionalEdge,
    [JsonStringEnumMemberName("show_state")] ShowState,
    [JsonStringEnumMemberName("self_loop_edge")] SelfLoopEdge,
    [JsonStringEnumMemberName("self_loop_exhausted")] SelfLoopExhausted,
    [JsonStringEnumMemberName("http_request")] HttpRequest,
    [JsonStringEnumMemberName("llm")] Llm,
    [JsonStringEnumMemberName("llm_condition")] LlmCondition,
    [JsonStringEnumMemberName("condition_timeout")] ConditionTimeout,
    [JsonStringEnumMemberName("error")] Error,
    [JsonStringEnumMemberName("aborted_looping_risk")] AbortedLoopingRisk,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    [JsonStringEnumMemberName("end_workflow")] EndWorkflow,
    [JsonStringEnumMemberName("wait_timeout")] WaitTimeout,
    [JsonStringEnumMemberName("timer_fired")] TimerFired,

    /// <summary>A background turn that its run, as it then stood, refused: the problem a synchronous turn would have answered.</summary>
    [JsonStringEnumMemberName("turn_refused")] TurnRefused,

    /// <summary>The `retry` command ran a failed run again: the failed turn, its error, and the version moved to, if any.</summary>
    [JsonStringEnumMemberName("run_retried")] RunRetried,

    /// <summary>One attempt of one step of a `parallel` node: its step, attempt number, whether it was the fallback, status, times, outputs or error.</summary>
    [JsonStringEnumMemberName("step_attempt")] StepAttempt,

    /// <summary>A retried `parallel` node kept the outputs of the steps that had finished before it failed, and does not run them again.</summary>
    [JsonStringEnumMemberName("steps_kept")] StepsKept,
}

/// <summary>What ended a run.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TerminationSource>))]
public enum TerminationSource
{
    /// <summary>Its own `end` or `fail` node, or a node that failed.</summary>
    [JsonStringEnumMemberName("workflow")] Workflow,

    /// <summary>The `stop` command of an execute request.</summary>
    [JsonStringEnumMemberName("user_stop")] UserStop,

    /// <summary>A cancel request of the runs API.</summary>
    [JsonStringEnumMemberName("cancel_request")] CancelRequest,

    [JsonStringEnumMemberName("loop_guard")] LoopGuard,

    /// <summary>A per-turn limit (events, variables' size).</summary>
    [JsonStringEnumMemberName("limits")] Limits,

    [JsonStringEnumMemberName("stale_run_reaper")] StaleRunReaper,
}

/// <summary>How a run began when no client started it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunOrigin>))]
public enum RunOrigin
{
    [JsonStringEnumMemberName("fork")] Fork,
    [JsonStringEnumMemberName("replay")] Replay,
}

public static class Vocabulary
{
    public static string ToWire(this RunEventType type) => WireNames<RunEventType>.Of(type);

    public static string ToWire(this TerminationSource source) => WireNames<TerminationSource>.Of(source);

    public static string ToWire(this RunOrigin origin) => WireNames<RunOrigin>.Of(origin);
}

/// <summary>How an `llm` node uses its model's reply.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LlmMode>))]
public enum LlmMode
{
    /// <summary>Spoken to the user (and, with `wait_for_reply`, the node then waits like `ask`).</summary>
    [JsonStringEnumMemberName("say")]
    Say,

    /// <summary>Kept in variables, or parsed into declared outputs, without a word to the user.</summary>
    [JsonStringEnumMemberName("worker")]
    Worker,
}

/// <summary>What a run's timer does when it fires.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunTimerKind>))]
public enum RunTimerKind
{
    /// <summary>An `ask` with `timeout_seconds` got no accepted reply in time: the run continues at its `on_timeout`.</summary>
    [JsonStringEnumMemberName("wait_timeout")]
    WaitTimeout,

    /// <summary>A `pause` with `resume_after_seconds` resumes by itself.</summary>
    [JsonStringEnumMemberName("resume")]
    Resume,
}

/// <summary>Variables the runtime itself sets.</summary>
public static class RuntimeVariables
{
    /// <summary>The last reply the run took, as text: what a workflow reads to act on the person's words.</summary>
    public const string LastUserMessage = "last_user_message";
}
