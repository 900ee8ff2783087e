using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Contracts;

/// <summary>How many of a batch's items are where.</summary>
public sealed record BatchProgressContract(
    int Total,
    [property: Description("Items whose run completed.")] int Completed,
    [property: Description("Items whose run failed (or tripped the loop guard), or that could not start.")] int Failed,
    [property: Description("Items whose run waits for input or is paused: done for the batch, not failed.")] int Waiting,
    int Cancelled,
    [property: Description("Items not started yet.")] int Pending,
    [property: Description("Items whose first turn runs now.")] int Running)
{
    public static BatchProgressContract From(BatchView view)
    {
        int Count(BatchItemState state) => view.Counts.GetValueOrDefault(state);
        return new(view.Batch.Total, Count(BatchItemState.Completed), Count(BatchItemState.Failed), Count(BatchItemState.Waiting),
            Count(BatchItemState.Cancelled), Count(BatchItemState.Pending), Count(BatchItemState.Running));
    }
}

/// <summary>One item of a batch: its run, and how that run's first turn left it.</summary>
public sealed record BatchItemContract(
    int Index,
    [property: Description("pending, running, completed, failed, waiting or cancelled.")] string Status,
    string? RunId,
    [property: Description("The run's status after its first turn.")] string? RunStatus,
    JsonNode? Output,
    string? Error)
{
    public static BatchItemContract From(BatchItem item) =>
        new(item.Index, WireNames<BatchItemState>.Of(item.State), item.RunId, item.RunStatus, item.Output?.DeepClone(), item.Error);
}

/// <summary>A batch with its progress, and (when read whole) each item.</summary>
public sealed record BatchResponse(
    string BatchId,
    string WorkflowId,
    int? VersionNumber,
    [property: Description("running, completed or cancelled.")] string Status,
    int MaxConcurrency,
    BatchProgressContract Progress,
    DateTime CreatedAt,
    DateTime? FinishedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Every item in order (GET /v1/batches/{id}); absent from the answers to create and cancel.")] IReadOnlyList<BatchItemContract>? Items = null)
{
    public static BatchResponse From(BatchView view, IReadOnlyList<BatchItem>? items = null) => new(
        view.Batch.Id,
        view.Batch.WorkflowId,
        view.Batch.VersionNumber,
        WireNames<BatchStatus>.Of(view.Batch.Status),
        view.Batch.MaxConcurrency,
        BatchProgressContract.From(view),
        view.Batch.CreatedAt.UtcDateTime,
        view.Batch.FinishedAt?.UtcDateTime,
        items?.Select(BatchItemContract.From).ToList());
}
