using Sessions.Runtime.Errors;
using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Api.Http;
using Sessions.Runtime.History;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Contracts;

public sealed record RunSummaryContract(
    string RunId,
    string WorkflowId,
    string WorkflowName,
    int VersionNumber,
    RunStatus Status,
    int TurnNumber,
    string? RunBy,
    [property: Description("fork or replay when the run was made from another; null otherwise.")] string? Origin,
    string? SourceRunId,
    [property: Description("The labels its first turn gave it (run_input.metadata); null when none.")] JsonObject? Metadata,
    string? OriginInstance,
    string? OriginZone,
    string? OriginReference,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? CompletedAt)
{
    public static RunSummaryContract From(RunDocument run, string workflowName) => new(
        run.Id, run.WorkflowId, workflowName, run.VersionNumber, run.Status, run.TurnNumber, run.RunBy, run.Origin?.ToWire(), run.SourceRunId,
        (JsonObject?)run.Metadata?.DeepClone(), run.OriginInstance, run.OriginZone, run.OriginReference,
        run.CreatedAt.UtcDateTime, run.UpdatedAt.UtcDateTime, run.CompletedAt?.UtcDateTime);
}

public sealed record RunListResponse(IReadOnlyList<RunSummaryContract> Items, int Page, int Limit, long Total);

public sealed record RunStatsResponse(
    string? WorkflowId,
    long Total,
    [property: Description("Runs per status; every status is present, 0 when none.")] IReadOnlyDictionary<string, long> Counts)
{
    public static RunStatsResponse From(string? workflowId, IReadOnlyDictionary<RunStatus, long> counts) =>
        new(workflowId, counts.Values.Sum(), counts.ToDictionary(p => p.Key.ToWire(), p => p.Value));
}

public sealed record TurnContract(
    int TurnNumber,
    [property: Description("The run_input as the client sent it.")] JsonObject Input,
    [property: Description("status, error and next_input_hint after the turn.")] JsonObject Output,
    DateTime StartedAt,
    DateTime CompletedAt,
    [property: Description("The turn's events; the first ones only when events_complete is false.")] IReadOnlyList<EventContract> Events,
    [property: Description("False when the turn has more events than one page holds (1,000); more_events reads the rest.")] bool EventsComplete,
    [property: Description("The events page that goes on after the last event here, when events_complete is false; null otherwise.")] string? MoreEvents)
{
    public static TurnContract From(string runId, TurnRecord record) => Head(record.Turn) with
    {
        Events = record.Events.Select(EventContract.From).ToList(),
        EventsComplete = record.EventsComplete,
        MoreEvents = MoreEventsLink(runId, record.Turn, record.EventsComplete, record.Events.Count > 0 ? record.Events[^1].Seq : null),
    };

    /// <summary>The turn without its events, for a writer that writes them as they are read (<see cref="Http.TurnPageWriter"/>).</summary>
    public static TurnContract Head(TurnDocument turn) => new(
        turn.TurnNumber, turn.Input, turn.Output, turn.StartedAt.UtcDateTime, turn.CompletedAt.UtcDateTime, [], true, null);

    /// <summary>Where the rest of a turn's events are read, after the last one given (<paramref name="lastSeq"/>), when they were not all given.</summary>
    public static string? MoreEventsLink(string runId, TurnDocument turn, bool eventsComplete, long? lastSeq) =>
        eventsComplete ? null : $"/v1/runs/{runId}/events?after_seq={lastSeq ?? turn.FirstSeq - 1}";
}

/// <summary>What the run knew after a turn.</summary>
public sealed record TurnStateContract(
    RunStatus Status,
    [property: Description("The node the run waits at for a reply, if it does.")] string? WaitingNodeId,
    [property: Description("The node a paused run resumes at, if it is paused.")] string? CursorNodeId,
    JsonObject Variables,
    string? Error,
    JsonNode? Output,
    InputHintContract? NextInputHint);

/// <summary>The variables a turn changed, by top-level name.</summary>
public sealed record VariableChangesContract(
    [property: Description("Variables the turn set that were not set before, with their values.")] JsonObject Added,
    [property: Description("Variables the turn removed, with the values they had.")] JsonObject Removed,
    [property: Description("Variables whose value the turn changed: {name: {before, after}}.")] JsonObject Changed);

/// <summary>One turn for support staff: its input, answer and events, the run's state after it, and what it changed.</summary>
public sealed record TurnDetailsResponse(
    string RunId,
    int TurnNumber,
    [property: Description("The run_input as the client sent it.")] JsonObject Input,
    [property: Description("status, error and next_input_hint after the turn.")] JsonObject Output,
    DateTime StartedAt,
    DateTime CompletedAt,
    IReadOnlyList<EventContract> Events,
    bool EventsComplete,
    string? MoreEvents,
    [property: Description("The run after this turn; null for a turn recorded before checkpoints were kept.")] TurnStateContract? StateAfter,
    [property: Description("Against the turn before (nothing, for a run's first turn); null when either state is unknown.")] VariableChangesContract? VariableChanges)
{
    public static TurnDetailsResponse From(string runId, TurnDetails details)
    {
        var turn = TurnContract.From(runId, details.Record);
        var state = details.StateAfter;
        return new TurnDetailsResponse(
            runId,
            turn.TurnNumber,
            turn.Input,
            turn.Output,
            turn.StartedAt,
            turn.CompletedAt,
            turn.Events,
            turn.EventsComplete,
            turn.MoreEvents,
            state is null ? null : new TurnStateContract(
                state.Status,
                state.WaitingNodeId,
                state.Status == RunStatus.Paused ? state.CursorNodeId : null,
                (JsonObject)state.Variables.DeepClone(),
                state.Error,
                state.Output?.DeepClone(),
                state.Status == RunStatus.WaitingForUserInput ? InputHintContract.From(state.WaitingHint) : null),
            details.Changes is { } changes
                ? new VariableChangesContract((JsonObject)changes.Added.DeepClone(), (JsonObject)changes.Removed.DeepClone(), (JsonObject)changes.Changed.DeepClone())
                : null);
    }
}

/// <summary>A page of a run's turns, oldest first.</summary>
public sealed record TurnPageResponse(
    string RunId,
    IReadOnlyList<TurnContract> Turns,
    bool HasMore,
    [property: Description("The next page, when has_more; null otherwise.")] string? Next)
{
    /// <summary>The link to the turns after a page, or null when none follow.</summary>
    public static string? NextPage(string runId, TurnPageEnd page, int limit) =>
        page.HasMore && page.LastTurnNumber is { } last ? $"/v1/runs/{runId}/turns?after_turn={last}&limit={limit}" : null;
}

/// <summary>One execution of a node, or one attempt of a step of a parallel node (then with step_id, and outputs or error).</summary>
public sealed record NodeExecutionContract(
    string NodeId,
    int Attempt,
    int TurnNumber,
    string Status,
    DateTime StartedAt,
    DateTime? CompletedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("For a step's attempt: the step; node_id is its parallel node.")] string? StepId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("For a step's completed attempt: its outputs.")] JsonNode? Outputs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("For a step's failed attempt: why it failed.")] string? Error = null)
{
    public static NodeExecutionContract From(NodeExecution execution) => new(
        execution.NodeId, execution.Attempt, execution.TurnNumber, execution.Status, execution.StartedAt.UtcDateTime, execution.CompletedAt?.UtcDateTime,
        execution.StepId, execution.Outputs, execution.Error);
}

/// <summary>Everything about one run: its state, its turns as input/output pairs, and each node execution.</summary>
public sealed record RunDetailsResponse(
    string RunId,
    string WorkflowId,
    string WorkflowName,
    [property: Description("The workflow version the run is pinned to.")] int VersionNumber,
    RunStatus Status,
    int TurnNumber,
    JsonObject Variables,
    string? Error,
    JsonNode? Output,
    InputHintContract? NextInputHint,
    string? RunBy,
    string? TerminationSource,
    [property: Description("Tokens of the run's model calls: calls, input_tokens, output_tokens, total_tokens, and by_model.")] JsonObject? LlmTokenUsage,
    [property: Description("Latency of the run's model calls: calls, total_ms, mean_ms, max_ms, and by_model.")] JsonObject? LlmLatencyStats,
    string? Origin,
    string? SourceRunId,
    int? CheckpointSourceTurnIndex,
    [property: Description("The labels its first turn gave it (run_input.metadata); null when none.")] JsonObject? Metadata,
    string? OriginInstance,
    string? OriginZone,
    string? OriginReference,
    [property: Description("The timer of the wait the run is at, if it has one: when it fires, what it does, at which node; null otherwise.")] RunTimerContract? Timer,
    [property: Description("While a turn of the run is running or queued (status running): which turn, how far it has got, and how many turns wait behind it; null otherwise.")] ProgressContract? Progress,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? CompletedAt,
    [property: Description("When a finished run is erased, by its workflow's retention_days; null when it is kept.")] DateTime? ExpiresAt,
    [property: Description("When the run was deleted; only admins reading with include_deleted=true see a deleted run.")] DateTime? DeletedAt,
    [property: Description("The first page of the run's turns (at most 20, and 1,000 events in all); next_turns reads on.")] IReadOnlyList<TurnContract> Turns,
    [property: Description("The page of turns after those in turns, when the run has more; null otherwise.")] string? NextTurns,
    [property: Description("The node executions of the turns in this answer.")] IReadOnlyList<NodeExecutionContract> NodeExecutions)
{
    /// <summary>
    /// The run without its page of turns (<see cref="Turns"/>, <see cref="NextTurns"/>, <see cref="NodeExecutions"/>),
    /// which <see cref="Http.TurnPageWriter"/> writes in their places as it reads them.
    /// </summary>
    public static RunDetailsResponse Head(RunDetails details)
    {
        var run = details.Run;
        return new RunDetailsResponse(
            run.Id,
            run.WorkflowId,
            details.WorkflowName,
            run.VersionNumber,

            // A run with a turn running or queued is running, whatever its last turn left it as.
            details.Activity is null ? run.Status : RunStatus.Running,
            run.TurnNumber,
            (JsonObject)run.Variables.DeepClone(),
            run.Error,
            run.Output?.DeepClone(),
            run.Status == RunStatus.WaitingForUserInput && details.Activity is null ? InputHintContract.From(run.WaitingHint) : null,
            run.RunBy,
            run.TerminationSource?.ToWire(),
            (JsonObject?)run.LlmTokenUsage?.DeepClone(),
            (JsonObject?)run.LlmLatencyStats?.DeepClone(),
            run.Origin?.ToWire(),
            run.SourceRunId,
            run.CheckpointSourceTurnIndex,
            (JsonObject?)run.Metadata?.DeepClone(),
            run.OriginInstance,
            run.OriginZone,
            run.OriginReference,
            RunTimerContract.From(run.Timer),
            ProgressContract.From(details.Activity),
            run.CreatedAt.UtcDateTime,
            run.UpdatedAt.UtcDateTime,
            run.CompletedAt?.UtcDateTime,
            run.ExpiresAt?.UtcDateTime,
            run.DeletedAt?.UtcDateTime,
            [],
            null,
            []);
    }
}

public sealed record RunTimerContract(
    DateTime DueAt,
    [property: Description("wait_timeout (an ask's on_timeout) or resume (a pause's resume_after_seconds).")] string Kind,
    string NodeId,
    [property: Description("The node the run continues at when the timer fires.")] string ContinueAt)
{
    public static RunTimerContract? From(RunTimer? timer) =>
        timer is null ? null : new(timer.DueAt.UtcDateTime, WireNames<RunTimerKind>.Of(timer.Kind), timer.NodeId, timer.ContinueAt);
}

public sealed record DeliveryAttemptContract(DateTime At, int? StatusCode, double DurationMs, string? Error);

/// <summary>One webhook delivery of a run, with every attempt made at it.</summary>
public sealed record WebhookDeliveryContract(
    [property: Description("The delivery's id: the webhook-id header of every attempt, the same on retries.")] string Id,
    [property: Description("run.waiting_for_user_input, run.paused, run.completed, run.failed, run.cancelled or run.aborted_looping_risk.")] string Type,
    string Url,
    int TurnNumber,
    RunStatus Status,
    [property: Description("pending (to be made or retried), delivered, or failed (given up after the retry period).")] string State,
    DateTime OccurredAt,
    [property: Description("When a pending delivery is next attempted; null once it is settled.")] DateTime? NextAttemptAt,
    IReadOnlyList<DeliveryAttemptContract> Attempts)
{
    public static WebhookDeliveryContract From(WebhookDelivery delivery) => new(
        delivery.Id,
        delivery.Type,
        delivery.Url,
        delivery.TurnNumber,
        delivery.Status,
        WireNames<DeliveryState>.Of(delivery.State),
        delivery.OccurredAt.UtcDateTime,
        delivery.State == DeliveryState.Pending ? delivery.DueAt.UtcDateTime : null,
        delivery.Attempts.Select(a => new DeliveryAttemptContract(a.At.UtcDateTime, a.StatusCode, a.DurationMs, a.Error)).ToList());
}

public sealed record WebhookDeliveriesResponse(string RunId, IReadOnlyList<WebhookDeliveryContract> Deliveries);

public sealed record EventPageResponse(
    string RunId,
    IReadOnlyList<EventContract> Events,
    [property: Description("Pass as after_seq to read the next page.")] long NextAfterSeq,
    bool HasMore);

/// <summary>Either run_ids or workflow_id, not both.</summary>
public sealed record CancelRunsRequest(
    [property: Description("At most 100 run ids.")] IReadOnlyList<string>? RunIds = null,
    [property: Description("Cancel every run of this workflow that is not finished.")] string? WorkflowId = null,
    [property: Description("At most 500 characters; recorded on each run's cancelled event.")] string? Reason = null) : ICheckedBody
{
    public const int MaxRunIds = 100;

    public void Check(List<FieldError> errors)
    {
        if (Reason?.Length > RunHistory.MaxCancelReasonLength)
        {
            errors.Add(new("$.reason", $"reason is at most {RunHistory.MaxCancelReasonLength} characters."));
        }

        if ((RunIds is null) == (WorkflowId is null))
        {
            errors.Add(new("$", "Send either run_ids or workflow_id, not both and not neither."));
        }

        if (RunIds is { Count: 0 or > MaxRunIds })
        {
            errors.Add(new("$.run_ids", $"run_ids is an array of 1 to {MaxRunIds} run id strings."));
        }

        for (var i = 0; i < (RunIds?.Count ?? 0); i++)
        {
            if (!ObjectId.TryParse(RunIds![i], out _))
            {
                errors.Add(FieldError.NotAnObjectId($"$.run_ids[{i}]", "run_ids", RunIds[i] ?? ""));
            }
        }

        if (WorkflowId is not null && !ObjectId.TryParse(WorkflowId, out _))
        {
            errors.Add(FieldError.NotAnObjectId("$.workflow_id", "workflow_id", WorkflowId));
        }
    }
}

public sealed record CancelRunResult(
    string RunId,
    [property: Description("cancelled, already_completed, not_eligible (another turn moved it meanwhile) or not_found.")] string Outcome,
    RunStatus? Status);

public sealed record CancelRunsResponse(IReadOnlyList<CancelRunResult> Results, IReadOnlyDictionary<string, int> Counts)
{
    public static readonly IReadOnlyDictionary<CancelOutcome, string> OutcomeNames = new Dictionary<CancelOutcome, string>
    {
        [CancelOutcome.Cancelled] = "cancelled",
        [CancelOutcome.AlreadyCompleted] = "already_completed",
        [CancelOutcome.NotEligible] = "not_eligible",
        [CancelOutcome.NotFound] = "not_found",
    };

    public static CancelRunsResponse From(IReadOnlyList<CancelResult> results) => new(
        results.Select(r => new CancelRunResult(r.RunId, OutcomeNames[r.Outcome], r.Status is null ? null : RunStatusNames.FromWire(r.Status))).ToList(),
        OutcomeNames.Values.ToDictionary(name => name, name => results.Count(r => OutcomeNames[r.Outcome] == name)));
}

/// <summary>What an admin's purge erased.</summary>
public sealed record PurgeResponse([property: Description("Runs erased with everything stored for them.")] int PurgedRuns);
