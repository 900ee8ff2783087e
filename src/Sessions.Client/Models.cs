using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Client;

/// <summary>A run's status. The last four are terminal.</summary>
public enum RunStatus
{
    NotStarted,
    Started,
    Running,
    Paused,
    WaitingForUserInput,
    Failed,
    Completed,
    Cancelled,
    AbortedLoopingRisk,
}

/// <summary>A status as the wire names it (`waiting_for_user_input`), both ways.</summary>
public static class RunStatusNames
{
    public static string ToWire(this RunStatus status) => JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());

    /// <summary>The status <paramref name="wire"/> names, or null when it names none.</summary>
    public static RunStatus? FromWire(string wire) =>
        Enum.GetValues<RunStatus>().Where(s => s.ToWire() == wire).Select(s => (RunStatus?)s).FirstOrDefault();
}

/// <summary>What the run waits for: the node, its prompt, and the input it accepts (`{kind: text|number|integer|boolean|choice|file, ...}`).</summary>
[WireSchema("InputHintContract")]
public sealed record InputHint(string NodeId, string Prompt, JsonObject Input)
{
    /// <summary>The input's kind: `text`, `number`, `integer`, `boolean`, `choice` or `file`.</summary>
    [JsonIgnore]
    public string Kind => Input["kind"]?.GetValue<string>() ?? "text";

    /// <summary>For a `choice`: its options' values and labels.</summary>
    [JsonIgnore]
    public IReadOnlyList<(string Value, string Label)> Options =>
        Input["options"] is JsonArray options
            ? options.OfType<JsonObject>().Select(o => (o["value"]?.ToString() ?? string.Empty, o["label"]?.ToString() ?? o["value"]?.ToString() ?? string.Empty)).ToList()
            : [];
}

/// <summary>
/// One event of a run: its run-wide <see cref="Seq"/>, its type (`say_static`, `busy_wait_for_user_message`, `llm`, ...),
/// and its own fields (<see cref="Fields"/>: `text`, `prompt`, `from`, `to`, ...), flat beside these on the wire.
/// </summary>
[WireSchema("EventContract")]
public sealed record RunEvent
{
    public long Seq { get; init; }

    public string Type { get; init; } = string.Empty;

    public string? NodeId { get; init; }

    public int TurnNumber { get; init; }

    public DateTime Timestamp { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Fields { get; init; }

    /// <summary>
    /// What the event said, for the events that say something (`say_static`, `llm`, `busy_wait_for_user_message`'s
    /// prompt). A method, not a property: a property named like a field would keep that field out of <see cref="Fields"/>.
    /// </summary>
    public string? DisplayText() => Field("text") ?? Field("prompt");

    /// <summary>A field of the event as text, or null.</summary>
    public string? Field(string name) =>
        Fields is not null && Fields.TryGetValue(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString() : null;
}

/// <summary>The body of an execute: the run (absent on the first turn), its input, and optionally the turn the client last saw.</summary>
[WireSchema("ExecuteRequest")]
public sealed record ExecuteRequest(string? RunId = null, RunInput? RunInput = null, int? ExpectedTurn = null, int? VersionNumber = null);

/// <summary>A turn's input: a command, a reply, variables, labels (first turn), what to do when the run is busy.</summary>
[WireSchema("RunInput")]
public sealed record RunInput(
    string? Command = null,
    string? UserMessage = null,
    JsonObject? DynamicVariables = null,
    JsonObject? RuntimeVariables = null,
    JsonNode? Miscellaneous = null,
    string? RunBy = null,
    int? VersionNumber = null,
    string? WebhookUrl = null,
    JsonObject? Metadata = null,
    string? OriginInstance = null,
    string? OriginZone = null,
    string? OriginReference = null,
    string? OnBusy = null);

/// <summary>The answer to one turn, field for field as the protocol has it.</summary>
[WireSchema("ExecuteResponse")]
public sealed record TurnAnswer(
    string RunId,
    RunStatus Status,
    int TurnNumber,
    IReadOnlyList<RunEvent> Events,
    bool IsWaitingForInput,
    bool IsCompleted,
    string? Error,
    InputHint? NextInputHint)
{
    /// <summary>What the turn said, in order: `say` texts and model replies.</summary>
    public IReadOnlyList<string> Said() =>
        Events.Where(e => e.Type is "say_static" or "llm" && e.Field("text") is not null).Select(e => e.Field("text")!).ToList();
}

/// <summary>A turn accepted to run in the background (`202`), or one a join found still running.</summary>
[WireSchema("BackgroundTurnResponse")]
public sealed record BackgroundTurn(string RunId, RunStatus Status, int TurnNumber, string Message, Progress? Progress = null);

/// <summary>What a run is working on now.</summary>
[WireSchema("ProgressContract")]
public sealed record Progress(int TurnNumber, int CompletedSteps, string? CurrentNode, int QueuedTurns, int? TotalSteps = null, IReadOnlyList<string>? CurrentSteps = null);

/// <summary>One problem of a workflow definition: where, its code, what is wrong.</summary>
[WireSchema("DefinitionProblem")]
public sealed record DefinitionProblem(string Path, string Code, string Message);

[WireSchema("WorkflowCreatedResponse")]
public sealed record WorkflowCreated(string WorkflowId, string Name, int VersionNumber, int ActiveVersion, IReadOnlyList<DefinitionProblem> Warnings);

/// <summary>What an upload of a definition would report; <see cref="Valid"/> when it has no errors.</summary>
[WireSchema("DefinitionCheckResponse")]
public sealed record DefinitionCheck(bool Valid, IReadOnlyList<DefinitionProblem> Errors, IReadOnlyList<DefinitionProblem> Warnings);

[WireSchema("VersionCreatedResponse")]
public sealed record VersionCreated(string WorkflowId, int VersionNumber, int ActiveVersion, IReadOnlyList<DefinitionProblem> Warnings);

[WireSchema("WorkflowSummary")]
public sealed record WorkflowSummary(string WorkflowId, string Name, string? Description, int ActiveVersion, int LatestVersion, DateTime CreatedAt, DateTime UpdatedAt, DateTime? DeletedAt = null);

[WireSchema("WorkflowListResponse")]
public sealed record WorkflowPage(IReadOnlyList<WorkflowSummary> Items, int Page, int Limit, long Total);

[WireSchema("VersionSummary")]
public sealed record VersionSummary(int VersionNumber, string Name, bool IsActive, DateTime CreatedAt);

[WireSchema("WorkflowResponse")]
public sealed record Workflow(
    string WorkflowId,
    string Name,
    string? Description,
    int ActiveVersion,
    int LatestVersion,
    IReadOnlyList<VersionSummary> Versions,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? DeletedAt = null,
    IReadOnlyList<ForcedActivation>? ForcedActivations = null);

/// <summary>An activation an admin forced past an evaluation gate: the version, who, when, and what the gate said.</summary>
[WireSchema("ForcedActivation")]
public sealed record ForcedActivation(int VersionNumber, string By, DateTimeOffset At, string Refusal);

[WireSchema("WorkflowVersionResponse")]
public sealed record WorkflowVersion(string WorkflowId, int VersionNumber, string Name, bool IsActive, DateTime CreatedAt, JsonObject Definition);

[WireSchema("RunSummaryContract")]
public sealed record RunSummary(
    string RunId, string WorkflowId, string WorkflowName, int VersionNumber, RunStatus Status, int TurnNumber, string? RunBy, string? Origin, string? SourceRunId,
    JsonObject? Metadata, string? OriginInstance, string? OriginZone, string? OriginReference, DateTime CreatedAt, DateTime UpdatedAt, DateTime? CompletedAt);

[WireSchema("RunListResponse")]
public sealed record RunPage(IReadOnlyList<RunSummary> Items, int Page, int Limit, long Total);

[WireSchema("RunStatsResponse")]
public sealed record RunStats(string? WorkflowId, long Total, IReadOnlyDictionary<string, long> Counts);

/// <summary>One turn of a run as recorded: the input as sent, the outcome, its events.</summary>
[WireSchema("TurnContract")]
public sealed record Turn(int TurnNumber, JsonObject Input, JsonObject Output, DateTime StartedAt, DateTime CompletedAt, IReadOnlyList<RunEvent> Events, bool EventsComplete, string? MoreEvents);

[WireSchema("TurnStateContract")]
public sealed record TurnState(RunStatus Status, string? WaitingNodeId, string? CursorNodeId, JsonObject Variables, string? Error, JsonNode? Output, InputHint? NextInputHint);

[WireSchema("VariableChangesContract")]
public sealed record VariableChanges(JsonObject Added, JsonObject Removed, JsonObject Changed);

/// <summary>One turn with the run's state after it and what it changed.</summary>
[WireSchema("TurnDetailsResponse")]
public sealed record TurnDetails(
    string RunId, int TurnNumber, JsonObject Input, JsonObject Output, DateTime StartedAt, DateTime CompletedAt, IReadOnlyList<RunEvent> Events, bool EventsComplete,
    string? MoreEvents, TurnState? StateAfter, VariableChanges? VariableChanges);

[WireSchema("TurnPageResponse")]
public sealed record TurnPage(string RunId, IReadOnlyList<Turn> Turns, bool HasMore, string? Next);

[WireSchema("NodeExecutionContract")]
public sealed record NodeExecution(string NodeId, int Attempt, int TurnNumber, string Status, DateTime StartedAt, DateTime? CompletedAt, string? StepId = null, JsonNode? Outputs = null, string? Error = null);

[WireSchema("RunTimerContract")]
public sealed record RunTimer(DateTime DueAt, string Kind, string NodeId, string ContinueAt);

/// <summary>A run: its status, variables, what it waits for, its labels, and the first page of its turns.</summary>
[WireSchema("RunDetailsResponse")]
public sealed record Run(
    string RunId, string WorkflowId, string WorkflowName, int VersionNumber, RunStatus Status, int TurnNumber, JsonObject Variables, string? Error, JsonNode? Output,
    InputHint? NextInputHint, string? RunBy, string? TerminationSource, JsonObject? LlmTokenUsage, JsonObject? LlmLatencyStats, string? Origin, string? SourceRunId,
    int? CheckpointSourceTurnIndex, JsonObject? Metadata, string? OriginInstance, string? OriginZone, string? OriginReference, RunTimer? Timer, Progress? Progress,
    DateTime CreatedAt, DateTime UpdatedAt, DateTime? CompletedAt, DateTime? ExpiresAt, DateTime? DeletedAt, IReadOnlyList<Turn> Turns, string? NextTurns,
    IReadOnlyList<NodeExecution> NodeExecutions);

[WireSchema("DeliveryAttemptContract")]
public sealed record DeliveryAttempt(DateTime At, int? StatusCode, double DurationMs, string? Error);

[WireSchema("WebhookDeliveryContract")]
public sealed record WebhookDelivery(string Id, string Type, string Url, int TurnNumber, RunStatus Status, string State, DateTime OccurredAt, DateTime? NextAttemptAt, IReadOnlyList<DeliveryAttempt> Attempts);

[WireSchema("WebhookDeliveriesResponse")]
public sealed record WebhookDeliveries(string RunId, IReadOnlyList<WebhookDelivery> Deliveries);

[WireSchema("EventPageResponse")]
public sealed record EventPage(string RunId, IReadOnlyList<RunEvent> Events, long NextAfterSeq, bool HasMore);

[WireSchema("CancelRunsRequest")]
public sealed record CancelRunsRequest(IReadOnlyList<string>? RunIds = null, string? WorkflowId = null, string? Reason = null);

[WireSchema("CancelRunResult")]
public sealed record CancelRunResult(string RunId, string Outcome, RunStatus? Status);

[WireSchema("CancelRunsResponse")]
public sealed record CancelRunsResponse(IReadOnlyList<CancelRunResult> Results, IReadOnlyDictionary<string, int> Counts);

[WireSchema("PurgeResponse")]
public sealed record PurgeResponse(int PurgedRuns);

/// <summary>
/// A fork's request. `Calls`: `live` (the default) or `recorded`, how the waiting node's question is asked again if a
/// model asks it; `OnChanged`, with `recorded`: `stop` (the default) or `live` when the call differs from the recording.
/// </summary>
[WireSchema("ForkRequest")]
public sealed record ForkRequest(int TurnNumber, int? VersionNumber = null, string? Calls = null, string? OnChanged = null);

[WireSchema("ForkResponse")]
public sealed record ForkedRun(string RunId, string SourceRunId, int CheckpointSourceTurnIndex, int VersionNumber, RunStatus Status, bool IsWaitingForInput, InputHint? NextInputHint);

/// <summary>
/// A replay's request. `Calls`: `recorded` (the default: model and HTTP calls answered from the source run's recording)
/// or `live`; `OnChanged`, with `recorded`: `stop` (the default) or `live` for a call that differs from the recording or
/// was never made.
/// </summary>
[WireSchema("ReplayRequest")]
public sealed record ReplayRequest(int? VersionNumber = null, string? Calls = null, string? OnChanged = null);

[WireSchema("Difference")]
public sealed record Difference(string Field, JsonNode? Before, JsonNode? After);

[WireSchema("TurnView")]
public sealed record TurnView(string Status, string? Code, IReadOnlyList<string> Said, JsonObject? NextInputHint);

/// <summary>A call a recorded replay could not answer from the recording: why (`request_changed`, `call_not_recorded`, `recording_truncated`), both requests, and what it did (`stop` or `live`).</summary>
[WireSchema("CallDivergence")]
public sealed record CallDivergence(string Kind, string NodeId, int Index, JsonObject? Recorded, JsonObject Sent, string Followed);

/// <summary>How a replayed turn's calls were answered.</summary>
[WireSchema("CallReport")]
public sealed record CallReport(int FromRecording, int Live, IReadOnlyList<CallDivergence> Divergences);

/// <summary>One replayed turn; `Cause`, for a diverged turn: `definition` or `live_call`.</summary>
[WireSchema("ReplayedTurn")]
public sealed record ReplayedTurn(int TurnNumber, JsonObject Input, bool Diverged, IReadOnlyList<Difference> Differences, TurnView Before, TurnView? After, CallReport Calls, string? Cause);

/// <summary>Where a recorded replay stopped, before which call.</summary>
[WireSchema("ReplayStop")]
public sealed record ReplayStop(int TurnNumber, CallDivergence Call);

/// <summary>A replay of a run on a version: the new run, and turn by turn where it differs from the source.</summary>
[WireSchema("ReplayReport")]
public sealed record ReplayReport(
    string SourceRunId,
    string? ReplayRunId,
    int SourceVersionNumber,
    int VersionNumber,
    bool Diverged,
    int? FirstDivergentTurn,
    IReadOnlyList<ReplayedTurn> Turns,
    string Calls,
    string OnChanged,
    ReplayStop? Stopped);

/// <summary>One line of a transcript. (The server's document declares the transcript's Markdown form only, so no schema holds these three.)</summary>
public sealed record TranscriptLine(string Role, string Kind, string Text);

public sealed record TranscriptTurn(int TurnNumber, DateTimeOffset At, string? Command, IReadOnlyList<TranscriptLine> Lines);

/// <summary>A whole conversation as a person reads it.</summary>
public sealed record Transcript(string RunId, string WorkflowId, string WorkflowName, int VersionNumber, RunStatus Status, IReadOnlyList<TranscriptTurn> Turns);

[WireSchema("BatchProgressContract")]
public sealed record BatchProgress(int Total, int Completed, int Failed, int Waiting, int Cancelled, int Pending, int Running);

[WireSchema("BatchItemContract")]
public sealed record BatchItem(int Index, string Status, string? RunId, string? RunStatus, JsonNode? Output, string? Error);

[WireSchema("BatchResponse")]
public sealed record Batch(string BatchId, string WorkflowId, int? VersionNumber, string Status, int MaxConcurrency, BatchProgress Progress, DateTime CreatedAt, DateTime? FinishedAt, IReadOnlyList<BatchItem>? Items = null);

/// <summary>
/// Which runs an evaluation replays: the run list's filters by their query names (`status`, `run_by`, `created_after`,
/// `created_before`, `q`, `origin_*`, `metadata.KEY`), how many (1 to 1000, default 100), newest or a random sample.
/// </summary>
[WireSchema("EvaluationRequest")]
public sealed record EvaluationRequest(JsonObject? Runs = null, int? Limit = null, bool? Sample = null, int? MaxConcurrency = null);

/// <summary>One difference in one replayed run.</summary>
[WireSchema("EvaluationDifferenceContract")]
public sealed record EvaluationDifference(int Turn, string? NodeId, string Field);

/// <summary>One source run's replay in an evaluation; `Outcome` is unchanged, diverged, refused or stopped.</summary>
[WireSchema("EvaluationResultContract")]
public sealed record EvaluationResult(int Index, string SourceRunId, string Status, string? ReplayRunId, string? Outcome, int? FirstDivergentTurn, IReadOnlyList<EvaluationDifference> Differences, string? Error);

/// <summary>How many runs first diverged at a turn.</summary>
[WireSchema("DivergedAt")]
public sealed record DivergedAt(int Turn, int Runs);

/// <summary>A difference many runs share: the node, the field, how many runs, one of them.</summary>
[WireSchema("DifferenceGroup")]
public sealed record DifferenceGroup(string? NodeId, string Field, int Runs, string ExampleRunId);

/// <summary>What a finished evaluation found: runs by outcome, the share that changed, where they diverged, the common differences.</summary>
[WireSchema("EvaluationSummary")]
public sealed record EvaluationSummary(IReadOnlyDictionary<string, int> Counts, int Replayed, double DivergedPercent, IReadOnlyList<DivergedAt> FirstDivergentTurns, IReadOnlyList<DifferenceGroup> Differences);

/// <summary>An evaluation of a version against real runs.</summary>
[WireSchema("EvaluationResponse")]
public sealed record Evaluation(
    string EvaluationId,
    string WorkflowId,
    int VersionNumber,
    string Status,
    int MaxConcurrency,
    JsonObject? Selection,
    BatchProgress Progress,
    DateTime CreatedAt,
    DateTime? FinishedAt,
    EvaluationSummary? Summary,
    IReadOnlyList<EvaluationResult>? Results = null,
    int? NextAfter = null);

/// <summary>A workflow's evaluations, newest first.</summary>
[WireSchema("EvaluationListResponse")]
public sealed record EvaluationList(IReadOnlyList<Evaluation> Items);
