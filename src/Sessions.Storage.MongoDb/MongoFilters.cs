using System.Text.RegularExpressions;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// Every filter, sort and update the provider sends, built here and nowhere else, so that a test can render each with
/// the driver's serializers and compare it with the BSON it must be, without a server.
/// </summary>
public static class MongoFilters
{
    private static readonly FilterDefinitionBuilder<BsonDocument> Filter = Builders<BsonDocument>.Filter;
    private static readonly SortDefinitionBuilder<BsonDocument> Sort = Builders<BsonDocument>.Sort;

    public static readonly SortDefinition<BsonDocument> NewestFirst = Sort.Descending("created_at").Descending("_id");

    public static FilterDefinition<BsonDocument> Owned(string tenantId, string id) =>
        Filter.Eq("_id", StoredDocuments.Id(id)) & Filter.Eq("tenant_id", tenantId);

    /// <summary>The version-checked write: this tenant's document, only while it is still at the version read.</summary>
    public static FilterDefinition<BsonDocument> AtVersion(string tenantId, string id, long version) =>
        Owned(tenantId, id) & Filter.Eq("version", version);

    public static FilterDefinition<BsonDocument> Tenant(string tenantId) => Filter.Eq("tenant_id", tenantId);

    public static UpdateDefinition<BsonDocument> NextVersionNumber() => Builders<BsonDocument>.Update.Inc("latest_version", 1);

    public static FilterDefinition<BsonDocument> VersionOf(string tenantId, string workflowId, int versionNumber) =>
        Filter.Eq("workflow_id", workflowId) & Filter.Eq("tenant_id", tenantId) & Filter.Eq("version_number", versionNumber);

    public static FilterDefinition<BsonDocument> VersionsOf(string tenantId, string workflowId) =>
        Filter.Eq("workflow_id", workflowId) & Filter.Eq("tenant_id", tenantId);

    public static readonly SortDefinition<BsonDocument> OldestVersionFirst = Sort.Ascending("version_number");

    public static readonly ProjectionDefinition<BsonDocument> WithoutDefinition = Builders<BsonDocument>.Projection.Exclude("definition_json");

    /// <summary>A run's turns that hold events after <paramref name="afterSeq"/>.</summary>
    public static FilterDefinition<BsonDocument> TurnsWithEventsAfter(string tenantId, string runId, long afterSeq) =>
        Filter.Eq("run_id", runId) & Filter.Eq("tenant_id", tenantId) & Filter.Gt("last_seq", afterSeq) & Filter.Exists("events");

    public static readonly SortDefinition<BsonDocument> ByLastSeq = Sort.Ascending("last_seq");

    /// <summary>What a read of events needs of a turn.</summary>
    public static readonly ProjectionDefinition<BsonDocument> TurnEventsOnly = Builders<BsonDocument>.Projection.Include("turn_number").Include("last_seq").Include("events");

    /// <summary>A turn without its events, for reads of turns.</summary>
    public static readonly ProjectionDefinition<BsonDocument> WithoutEvents = Builders<BsonDocument>.Projection.Exclude("events");

    public static FilterDefinition<BsonDocument> TurnsAfter(string tenantId, string runId, int afterTurn) =>
        Filter.Eq("run_id", runId) & Filter.Eq("tenant_id", tenantId) & Filter.Gt("turn_number", afterTurn);

    public static readonly SortDefinition<BsonDocument> ByTurn = Sort.Ascending("turn_number");

    /// <summary>Workflows whose name contains the text, ignoring case; the text is matched as it is, not as a pattern.</summary>
    public static FilterDefinition<BsonDocument> NameContains(string tenantId, string text) => Tenant(tenantId) & NameMatches(text);

    private static FilterDefinition<BsonDocument> NameMatches(string text) => Filter.Regex("name", new BsonRegularExpression(Regex.Escape(text), "i"));

    /// <summary>
    /// A run query's filter (paging aside). The workflow-name filter is a join in SQL; here it arrives as the ids of the
    /// tenant's workflows whose names match, looked up first.
    /// </summary>
    public static FilterDefinition<BsonDocument> Runs(string tenantId, RunQuery query, IReadOnlyList<string>? workflowIdsByName)
    {
        var filter = Tenant(tenantId);
        if (!query.IncludeDeleted)
        {
            filter &= NotDeleted;
        }

        if (query.WorkflowId is not null)
        {
            filter &= Filter.Eq("workflow_id", query.WorkflowId);
        }

        if (workflowIdsByName is not null)
        {
            filter &= Filter.In("workflow_id", workflowIdsByName);
        }

        if (query.Statuses.Count > 0)
        {
            filter &= Filter.In("status", query.Statuses.Select(s => s.ToWire()));
        }

        if (query.RunBy is not null)
        {
            filter &= Filter.Eq("run_by", query.RunBy);
        }

        if (query.CreatedFrom is { } from)
        {
            filter &= Filter.Gte("created_at", StoredDocuments.Time(from));
        }

        if (query.CreatedTo is { } to)
        {
            filter &= Filter.Lt("created_at", StoredDocuments.Time(to));
        }

        if (query.Labels.Count > 0)
        {
            filter &= Filter.All("labels", query.Labels);
        }

        return filter;
    }

    public static FilterDefinition<BsonDocument> Inactive(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore) =>
        Filter.In("status", statuses.Select(s => s.ToWire())) & Filter.Lt("updated_at", StoredDocuments.Time(updatedBefore)) & NotDeleted;

    /// <summary>A run or workflow not deleted: `deleted_at` null (or, in a document written before deletion existed, absent).</summary>
    public static readonly FilterDefinition<BsonDocument> NotDeleted = Filter.Eq("deleted_at", BsonNull.Value);

    /// <summary>Runs past their retention, and runs deleted by the time given (a null time matches neither).</summary>
    /// <summary>Runs due to be erased, of one tenant, or of all when <paramref name="tenantId"/> is null (the scheduled purge).</summary>
    public static FilterDefinition<BsonDocument> Purgeable(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy)
    {
        var due = Filter.Lte("expires_at", StoredDocuments.Time(expiredBy)) | Filter.Lte("deleted_at", StoredDocuments.Time(deletedBy));
        return tenantId is null ? due : Tenant(tenantId) & due;
    }

    /// <summary>Everything else stored for a run (events, turns, webhook deliveries, stored answers): what erasing it removes.</summary>
    public static FilterDefinition<BsonDocument> OfRun(string tenantId, string runId) => Filter.Eq("run_id", runId) & Filter.Eq("tenant_id", tenantId);

    /// <summary>A tenant's workflows for a list: not deleted unless asked, and with the name containing the text if given.</summary>
    public static FilterDefinition<BsonDocument> Workflows(string tenantId, WorkflowQuery query)
    {
        var filter = Tenant(tenantId);
        if (!query.IncludeDeleted)
        {
            filter &= NotDeleted;
        }

        return string.IsNullOrEmpty(query.NameContains) ? filter : filter & NameMatches(query.NameContains);
    }

    /// <summary>The workflow, only while it is not deleted, marked deleted at <paramref name="at"/>.</summary>
    public static UpdateDefinition<BsonDocument> Deleted(DateTimeOffset at) =>
        Builders<BsonDocument>.Update.Set("deleted_at", StoredDocuments.Time(at)).Set("updated_at", StoredDocuments.Time(at));

    public static readonly SortDefinition<BsonDocument> LeastRecentlyUpdated = Sort.Ascending("updated_at");

    /// <summary>Runs with work due (a run without any has null, which no time is greater than or equal to).</summary>
    public static FilterDefinition<BsonDocument> WorkDue(DateTimeOffset now) => Filter.Lte("due_at", StoredDocuments.Time(now));

    public static FilterDefinition<BsonDocument> DeliveriesDue(DateTimeOffset now) =>
        Filter.Eq("state", "pending") & Filter.Lte("due_at", StoredDocuments.Time(now));

    /// <summary>Due runs and due deliveries alike: both keep their due time as `due_at`.</summary>
    public static readonly SortDefinition<BsonDocument> EarliestDueFirst = Sort.Ascending("due_at");

    public static FilterDefinition<BsonDocument> DeliveriesOf(string tenantId, string runId) => Filter.Eq("run_id", runId) & Filter.Eq("tenant_id", tenantId);

    public static readonly SortDefinition<BsonDocument> OldestFirst = Sort.Ascending("_id");

    public static FilterDefinition<BsonDocument> ChunksOf(string tenantId, string fileId) => Filter.Eq("file_id", fileId) & Filter.Eq("tenant_id", tenantId);

    public static FilterDefinition<BsonDocument> Chunk(string tenantId, string fileId, int index) => ChunksOf(tenantId, fileId) & Filter.Eq("chunk", index);

    public static FilterDefinition<BsonDocument> FileOfRun(string tenantId, string runId, string fileId) => Owned(tenantId, fileId) & Filter.Eq("run_id", runId);

    /// <summary>Pieces written before a time, of one tenant, or of all when <paramref name="tenantId"/> is null.</summary>
    public static FilterDefinition<BsonDocument> ChunksWrittenBefore(string? tenantId, DateTimeOffset before)
    {
        var old = Filter.Lt("created_at", StoredDocuments.Time(before));
        return tenantId is null ? old : Tenant(tenantId) & old;
    }

    public static FilterDefinition<BsonDocument> FilesAmong(IEnumerable<string> fileIds) => Filter.In("_id", fileIds.Select(StoredDocuments.Id));

    public static FilterDefinition<BsonDocument> ChunksOfFiles(IEnumerable<string> fileIds) => Filter.In("file_id", fileIds);

    public static FilterDefinition<BsonDocument> BatchItems(string tenantId, string batchId, int afterIndex, bool openOnly)
    {
        var filter = Filter.Eq("batch_id", batchId) & Filter.Eq("tenant_id", tenantId) & Filter.Gt("index", afterIndex);
        return openOnly ? filter & Filter.In("state", new[] { "pending", "running" }) : filter;
    }

    public static FilterDefinition<BsonDocument> BatchItemAtVersion(string tenantId, string batchId, int index, long version) =>
        Filter.Eq("batch_id", batchId) & Filter.Eq("tenant_id", tenantId) & Filter.Eq("index", index) & Filter.Eq("version", version);

    public static readonly SortDefinition<BsonDocument> ByItemIndex = Sort.Ascending("index");

    /// <summary>A tenant's batches of one kind for a workflow; one written before kinds existed starts runs.</summary>
    public static FilterDefinition<BsonDocument> Batches(string tenantId, string workflowId, string kind) =>
        Filter.Eq("tenant_id", tenantId) & Filter.Eq("workflow_id", workflowId)
        & (kind == "runs" ? Filter.In("kind", new BsonValue[] { "runs", BsonNull.Value }) : Filter.Eq("kind", kind));

    public static readonly FilterDefinition<BsonDocument> RunningBatches = Filter.Eq("status", "running");

    public static readonly SortDefinition<BsonDocument> OldestCreatedFirst = Sort.Ascending("created_at");

    public static FilterDefinition<BsonDocument> Key(string tenantId, string key) => Filter.Eq("tenant_id", tenantId) & Filter.Eq("key", key);

    public static FilterDefinition<BsonDocument> KeyAtVersion(string tenantId, string key, long version) => Key(tenantId, key) & Filter.Eq("version", version);

    public static FilterDefinition<BsonDocument> KeysRetainedUntil(DateTimeOffset now) => Filter.Lte("retain_until", StoredDocuments.Time(now));
}
