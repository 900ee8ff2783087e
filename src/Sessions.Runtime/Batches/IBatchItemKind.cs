using System.Text.Json.Nodes;

namespace Sessions.Runtime.Batches;

/// <summary>
/// What the items of a batch of some other kind than <see cref="BatchKind.Runs"/> do, for <see cref="BatchWork"/> to
/// run them like any batch's: claimed, run, settled with a version-checked write, taken again when a claim runs out.
/// </summary>
public interface IBatchItemKind
{
    BatchKind Kind { get; }

    /// <summary>The item as its work left it: settled (completed or failed) with what came of it.</summary>
    Task<BatchItem> RunAsync(BatchDocument batch, BatchItem item);

    /// <summary>What the whole batch came to, kept on it as it finishes; null when the kind keeps nothing.</summary>
    Task<JsonObject?> SummarizeAsync(BatchDocument batch, CancellationToken cancellationToken);
}
