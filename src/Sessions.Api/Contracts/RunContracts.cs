using System.ComponentModel;
using System.Text.Json.Nodes;
using Sessions.Runtime.History;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

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
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? CompletedAt)
{
    public static RunSummaryContract From(RunDocument run, string workflowName) => new(
        run.Id, run.WorkflowId, workflowName, run.VersionNumber, run.Status, run.TurnNumber, run.RunBy, run.Origin?.ToWire(), run.SourceRunId,
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
    IReadOnlyList<EventContract> Events);

public sealed record NodeExecutionContract(string NodeId, int Attempt, int TurnNumber, string Status, DateTime StartedAt, DateTime? CompletedAt);

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
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? CompletedAt,
    IReadOnlyList<TurnContract> Turns,
    IReadOnlyList<NodeExecutionContract> NodeExecutions)
{
    public static RunDetailsResponse From(RunDetails details)
    {
        var run = details.Run;
        return new RunDetailsResponse(
            run.Id,
            run.WorkflowId,
            details.WorkflowName,
            run.VersionNumber,
            run.Status,
            run.TurnNumber,
            (JsonObject)run.Variables.DeepClone(),
            run.Error,
            run.Output?.DeepClone(),
            run.Status == RunStatus.WaitingForUserInput ? InputHintContract.From(run.WaitingHint) : null,
            run.RunBy,
            run.TerminationSource?.ToWire(),
            (JsonObject?)run.LlmTokenUsage?.DeepClone(),
            (JsonObject?)run.LlmLatencyStats?.DeepClone(),
            run.Origin?.ToWire(),
            run.SourceRunId,
            run.CheckpointSourceTurnIndex,
            run.CreatedAt.UtcDateTime,
            run.UpdatedAt.UtcDateTime,
            run.CompletedAt?.UtcDateTime,
            details.Turns.Select(t => new TurnContract(
                t.Turn.TurnNumber,
                (JsonObject)t.Turn.Input.DeepClone(),
                (JsonObject)t.Turn.Output.DeepClone(),
                t.Turn.StartedAt.UtcDateTime,
                t.Turn.CompletedAt.UtcDateTime,
                t.Events.Select(EventContract.From).ToList())).ToList(),
            details.NodeExecutions.Select(n => new NodeExecutionContract(n.NodeId, n.Attempt, n.TurnNumber, n.Status, n.StartedAt.UtcDateTime, n.CompletedAt?.UtcDateTime)).ToList());
    }
}

public sealed record EventPageResponse(
    string RunId,
    IReadOnlyList<EventContract> Events,
    [property: Description("Pass as after_seq to read the next page.")] long NextAfterSeq,
    bool HasMore);

/// <summary>Either run_ids or workflow_id, not both.</summary>
public sealed record CancelRunsRequest(
    [property: Description("At most 100 run ids.")] IReadOnlyList<string>? RunIds,
    [property: Description("Cancel every run of this workflow that is not finished.")] string? WorkflowId,
    [property: Description("At most 500 characters; recorded on each run's cancelled event.")] string? Reason);

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
