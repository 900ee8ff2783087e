using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Webhooks;
using Sessions.Runtime.Runs;

namespace Sessions.Storage.MongoDb;

/// <summary>Webhook deliveries, one document each, `_id` the delivery's ObjectId (the `webhook-id` a receiver sees).</summary>
public sealed class MongoWebhookStore(MongoDatabase database) : IWebhookStore
{
    private IMongoCollection<BsonDocument> Deliveries => database.Collection(MongoSchema.WebhookDeliveries);

    public async Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var found = await Deliveries.Find(MongoFilters.DeliveriesDue(now)).Sort(MongoFilters.EarliestDueFirst).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Delivery).ToList();
    }

    public Task<long> CountDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Deliveries.CountDocumentsAsync(MongoFilters.DeliveriesDue(now), cancellationToken: cancellationToken);

    public async Task<bool> TryReplaceAsync(WebhookDelivery delivery, long expectedVersion, CancellationToken cancellationToken) =>
        (await Deliveries.ReplaceOneAsync(MongoFilters.AtVersion(delivery.TenantId, delivery.Id, expectedVersion), StoredDocuments.Delivery(delivery), cancellationToken: cancellationToken)).MatchedCount == 1;

    public async Task<WebhookDelivery?> GetAsync(string tenantId, string deliveryId, CancellationToken cancellationToken)
    {
        if (!ObjectId.TryParse(deliveryId, out _))
        {
            return null;
        }

        var found = await Deliveries.Find(MongoFilters.Owned(tenantId, deliveryId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Delivery(found);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListForRunAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        var found = await Deliveries.Find(MongoFilters.DeliveriesOf(tenantId, runId)).Sort(MongoFilters.OldestFirst).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Delivery).ToList();
    }

    /// <summary>Inside a turn's commit: the turn's deliveries, in its transaction.</summary>
    internal static Task InsertAsync(IMongoCollection<BsonDocument> deliveries, IClientSessionHandle session, IReadOnlyList<WebhookDelivery> turns, CancellationToken cancellationToken) =>
        turns.Count == 0 ? Task.CompletedTask : deliveries.InsertManyAsync(session, turns.Select(StoredDocuments.Delivery), cancellationToken: cancellationToken);
}
