using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Batches;

/// <summary>A batch as a whole: running while it has items to start or finish, then completed, or cancelled.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BatchStatus>))]
public enum BatchStatus
{
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>
/// Where one item of a batch stands: not started, its first turn running, or how that turn left its run. An item whose
/// run waits for input is `waiting`: done for the batch, not failed.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<BatchItemState>))]
public enum BatchItemState
{
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("waiting")] Waiting,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>What a batch's items do: each starts a run, or each replays a source run on a version (an evaluation).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BatchKind>))]
public enum BatchKind
{
    [JsonStringEnumMemberName("runs")] Runs,

    /// <summary>Each item's input names a source run, replayed with recorded calls on <see cref="BatchDocument.VersionNumber"/>.</summary>
    [JsonStringEnumMemberName("evaluation")] Evaluation,
}

/// <summary>One batch: which workflow its runs start, for whom, how many at a time, and whether it is still going.</summary>
/// <param name="Principal">Who asked for it: each item's turn runs under an idempotency key of this principal's.</param>
public sealed record BatchDocument(
    string Id,
    string TenantId,
    string WorkflowId,
    int? VersionNumber,
    string Principal,
    string? RunBy,
    int MaxConcurrency,
    int Total,
    BatchStatus Status,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt = null)
{
    /// <summary>What its items do; a batch written before evaluations existed starts runs.</summary>
    public BatchKind Kind { get; init; } = BatchKind.Runs;

    /// <summary>For an evaluation: how its source runs were chosen (the run filters, `limit`, `sample`), as asked.</summary>
    public JsonObject? Selection { get; init; }

    /// <summary>For an evaluation that finished: what it found (<see cref="Evaluations.EvaluationSummary"/>), kept as it finished.</summary>
    public JsonObject? Summary { get; init; }
}

/// <summary>
/// One item of a batch: its input (the new run's `dynamic_variables`), and once started, its run and how its first turn
/// left it. <see cref="ClaimedUntil"/> is a worker's hold on it while that turn runs; one that runs out (its server
/// died) leaves the item to be started again, under the same idempotency key, so it still makes one run.
/// </summary>
public sealed record BatchItem(
    string BatchId,
    string TenantId,
    int Index,
    JsonObject Input,
    BatchItemState State,
    long Version,
    string? RunId = null,
    string? RunStatus = null,
    JsonNode? Output = null,
    string? Error = null,
    DateTimeOffset? ClaimedUntil = null);

/// <summary>Batches. Section `Sessions:Batches`.</summary>
public sealed class BatchOptions
{
    public const string Section = "Sessions:Batches";

    /// <summary>The most items one batch may have.</summary>
    [Range(1, 100_000)]
    public int MaxItems { get; set; } = 10_000;

    /// <summary>Items of one batch started at once when the request does not say.</summary>
    [Range(1, 256)]
    public int DefaultConcurrency { get; set; } = 8;

    /// <summary>How long a worker holds an item while its first turn runs; a hold that runs out lets another start it.</summary>
    [Range(1, 3_600)]
    public double ClaimSeconds { get; set; } = 120;

    /// <summary>Milliseconds between looks for batches with items to start; 0 starts none here.</summary>
    [Range(0, 60_000)]
    public int PollMilliseconds { get; set; } = 500;

    public TimeSpan Claim => TimeSpan.FromSeconds(ClaimSeconds);
}
