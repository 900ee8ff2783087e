using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>Batches (`batches`, `_id` the batch's ObjectId) and their items (`batch_items`, one document each).</summary>
public sealed class MongoBatchStore(MongoDatabase database) : IBatchStore
{
    private IMongoCollection<BsonDocument> Batches => database.Collection(MongoSchema.Batches);

    private IMongoCollection<BsonDocument> Items => database.Collection(MongoSchema.BatchItems);

    public Task CreateAsync(BatchDocument batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken) =>
        database.InTransactionAsync(
            async (session, ct) =>
            {
                await Batches.InsertOneAsync(session, StoredDocuments.Batch(batch), cancellationToken: ct);
                await Items.InsertManyAsync(session, items.Select(StoredDocuments.BatchItem), cancellationToken: ct);
                return true;
            },
            cancellationToken);

    public async Task<BatchDocument?> GetAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        var found = await Batches.Find(MongoFilters.Owned(tenantId, batchId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Batch(found);
    }

    public async Task<bool> TryReplaceAsync(BatchDocument batch, long expectedVersion, CancellationToken cancellationToken) =>
        (await Batches.ReplaceOneAsync(MongoFilters.AtVersion(batch.TenantId, batch.Id, expectedVersion), StoredDocuments.Batch(batch), cancellationToken: cancellationToken)).MatchedCount == 1;

    public async Task<IReadOnlyList<BatchItem>> ListItemsAsync(string tenantId, string batchId, int afterIndex, int limit, bool openOnly, CancellationToken cancellationToken)
    {
        var found = await Items.Find(MongoFilters.BatchItems(tenantId, batchId, afterIndex, openOnly)).Sort(MongoFilters.ByItemIndex).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.BatchItem).ToList();
    }

    public async Task<bool> TryReplaceItemAsync(BatchItem item, long expectedVersion, CancellationToken cancellationToken) =>
        (await Items.ReplaceOneAsync(MongoFilters.BatchItemAtVersion(item.TenantId, item.BatchId, item.Index, expectedVersion), StoredDocuments.BatchItem(item), cancellationToken: cancellationToken)).MatchedCount == 1;

    public async Task<IReadOnlyDictionary<BatchItemState, int>> CountItemsAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        var counts = Enum.GetValues<BatchItemState>().ToDictionary(s => s, _ => 0);
        var groups = await Items.Aggregate()
            .Match(MongoFilters.BatchItems(tenantId, batchId, -1, openOnly: false))
            .Group(new BsonDocument { ["_id"] = "$state", ["count"] = new BsonDocument("$sum", 1) })
            .ToListAsync(cancellationToken);
        foreach (var group in groups)
        {
            counts[WireNames<BatchItemState>.Parse(group["_id"].AsString)] = group["count"].ToInt32();
        }

        return counts;
    }

    public async Task<IReadOnlyList<BatchDocument>> ListAsync(string tenantId, string workflowId, BatchKind kind, int limit, CancellationToken cancellationToken)
    {
        var found = await Batches.Find(MongoFilters.Batches(tenantId, workflowId, Runtime.Runs.WireNames<BatchKind>.Of(kind))).Sort(MongoFilters.NewestFirst).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Batch).ToList();
    }

    public async Task<IReadOnlyList<BatchDocument>> ListRunningAsync(int limit, CancellationToken cancellationToken)
    {
        var found = await Batches.Find(MongoFilters.RunningBatches).Sort(MongoFilters.OldestCreatedFirst).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Batch).ToList();
    }
}
