using Sessions.Runtime.Runs;
using System.Text.Json.Nodes;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>Conversation links, one document each, unique by (tenant, protocol, name).</summary>
public sealed class MongoConversationStore(MongoDatabase database) : IConversationStore
{
    private static readonly FilterDefinitionBuilder<BsonDocument> Filter = Builders<BsonDocument>.Filter;

    private IMongoCollection<BsonDocument> Links => database.Collection(MongoSchema.ConversationLinks);

    public async Task<ConversationLink?> GetAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken)
    {
        var found = await Links.Find(Name(tenantId, protocol, externalId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Conversation(found);
    }

    public async Task<ConversationLink> AddAsync(ConversationLink link, CancellationToken cancellationToken)
    {
        try
        {
            await Links.InsertOneAsync(StoredDocuments.Conversation(link), cancellationToken: cancellationToken);
            return link;
        }
        catch (MongoException ex) when (MongoDatabase.IsDuplicateKey(ex))
        {
            // The name was taken: the link that took it is the conversation (unless it went since: then try again).
            return await GetAsync(link.TenantId, link.Protocol, link.ExternalId, cancellationToken) ?? await AddAsync(link, cancellationToken);
        }
    }

    public async Task<bool> SetMetadataAsync(string tenantId, string protocol, string externalId, JsonObject metadata, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var update = Builders<BsonDocument>.Update.Set("metadata", JsonBson.ToBson(metadata)).Set("updated_at", StoredDocuments.Time(at));
        return (await Links.UpdateOneAsync(Name(tenantId, protocol, externalId), update, cancellationToken: cancellationToken)).MatchedCount == 1;
    }

    public async Task<bool> DeleteAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken) =>
        (await Links.DeleteOneAsync(Name(tenantId, protocol, externalId), cancellationToken)).DeletedCount == 1;

    public async Task<IReadOnlyList<ConversationLink>> ListAsync(string tenantId, string protocol, string? createdBy, int offset, int limit, CancellationToken cancellationToken)
    {
        var filter = Filter.Eq("tenant_id", tenantId) & Filter.Eq("protocol", protocol);
        if (createdBy is not null)
        {
            filter &= Filter.Eq("created_by", createdBy);
        }

        var found = await Links.Find(filter)
            .Sort(Builders<BsonDocument>.Sort.Descending("created_at").Descending("external_id"))
            .Skip(offset)
            .Limit(limit)
            .ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Conversation).ToList();
    }

    public async Task<int> DeleteForRunsAsync(string tenantId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
        runIds.Count == 0 ? 0 : (int)(await Links.DeleteManyAsync(Filter.Eq("tenant_id", tenantId) & Filter.In("run_id", runIds), cancellationToken)).DeletedCount;

    private static FilterDefinition<BsonDocument> Name(string tenantId, string protocol, string externalId) =>
        Filter.Eq("tenant_id", tenantId) & Filter.Eq("protocol", protocol) & Filter.Eq("external_id", externalId);
}
