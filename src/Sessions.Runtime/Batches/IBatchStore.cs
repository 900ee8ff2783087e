namespace Sessions.Runtime.Batches;

/// <summary>
/// Batches and their items, as versioned documents: written whole when a batch is created, then claimed, settled and
/// cancelled item by item by the runtime (<see cref="BatchWork"/>) through version-checked writes.
/// </summary>
public interface IBatchStore
{
    /// <summary>The batch and all its items, in one transaction.</summary>
    Task CreateAsync(BatchDocument batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken);

    Task<BatchDocument?> GetAsync(string tenantId, string batchId, CancellationToken cancellationToken);

    Task<bool> TryReplaceAsync(BatchDocument batch, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Items numbered above <paramref name="afterIndex"/>, in order; only those not finished when <paramref name="openOnly"/>.</summary>
    Task<IReadOnlyList<BatchItem>> ListItemsAsync(string tenantId, string batchId, int afterIndex, int limit, bool openOnly, CancellationToken cancellationToken);

    Task<bool> TryReplaceItemAsync(BatchItem item, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>How many of the batch's items are in each state; absent states are 0.</summary>
    Task<IReadOnlyDictionary<BatchItemState, int>> CountItemsAsync(string tenantId, string batchId, CancellationToken cancellationToken);

    /// <summary>The tenant's batches of <paramref name="kind"/> for a workflow, newest first.</summary>
    Task<IReadOnlyList<BatchDocument>> ListAsync(string tenantId, string workflowId, BatchKind kind, int limit, CancellationToken cancellationToken);

    /// <summary>Running batches of any tenant, oldest first.</summary>
    Task<IReadOnlyList<BatchDocument>> ListRunningAsync(int limit, CancellationToken cancellationToken);
}
