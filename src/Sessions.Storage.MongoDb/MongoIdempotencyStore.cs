using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

public sealed class MongoIdempotencyStore(MongoDatabase database) : IIdempotencyStore
{
    private IMongoCollection<BsonDocument> Keys => database.Collection(MongoSchema.IdempotencyKeys);

    public async Task<IdempotencyRecord?> GetAsync(string tenantId, string key, CancellationToken cancellationToken)
    {
        var found = await Keys.Find(MongoFilters.Key(tenantId, key)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Key(found);
    }

    public Task<bool> TryWriteAsync(IdempotencyRecord record, long expectedVersion, CancellationToken cancellationToken) =>
        TryWriteAsync(Keys, null, record, expectedVersion, cancellationToken);

    public async Task<bool> TryDeleteAsync(string tenantId, string key, long expectedVersion, CancellationToken cancellationToken) =>
        (await Keys.DeleteOneAsync(MongoFilters.KeyAtVersion(tenantId, key, expectedVersion), cancellationToken)).DeletedCount == 1;

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)(await Keys.DeleteManyAsync(MongoFilters.KeysRetainedUntil(now), cancellationToken)).DeletedCount;

    /// <summary>The key's version-checked write (one document or none), also made inside a turn's commit to store its answer.</summary>
    internal static async Task<bool> TryWriteAsync(
        IMongoCollection<BsonDocument> keys, IClientSessionHandle? session, IdempotencyRecord record, long expectedVersion, CancellationToken cancellationToken)
    {
        var document = StoredDocuments.Key(record);
        if (expectedVersion == 0)
        {
            try
            {
                await (session is null
                    ? keys.InsertOneAsync(document, cancellationToken: cancellationToken)
                    : keys.InsertOneAsync(session, document, cancellationToken: cancellationToken));
                return true;
            }
            catch (MongoException ex) when (MongoDatabase.IsDuplicateKey(ex))
            {
                return false;
            }
        }

        var filter = MongoFilters.KeyAtVersion(record.TenantId, record.Key, expectedVersion);
        var replaced = session is null
            ? await keys.ReplaceOneAsync(filter, document, cancellationToken: cancellationToken)
            : await keys.ReplaceOneAsync(session, filter, document, cancellationToken: cancellationToken);
        return replaced.MatchedCount == 1;
    }
}
