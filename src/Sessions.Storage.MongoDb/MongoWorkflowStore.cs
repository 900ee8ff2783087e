using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

public sealed class MongoWorkflowStore(MongoDatabase database) : IWorkflowStore
{
    private IMongoCollection<BsonDocument> Workflows => database.Collection(MongoSchema.Workflows);

    private IMongoCollection<BsonDocument> Versions => database.Collection(MongoSchema.WorkflowVersions);

    public async Task<bool> CreateAsync(WorkflowDocument workflow, WorkflowVersionDocument firstVersion, CancellationToken cancellationToken)
    {
        try
        {
            return await database.InTransactionAsync(
                async (session, ct) =>
                {
                    await Workflows.InsertOneAsync(session, StoredDocuments.Workflow(workflow), cancellationToken: ct);
                    await Versions.InsertOneAsync(session, StoredDocuments.Version(firstVersion), cancellationToken: ct);
                    return true;
                },
                cancellationToken);
        }
        catch (MongoException ex) when (MongoDatabase.IsDuplicateKey(ex))
        {
            return false;
        }
    }

    public async Task<WorkflowDocument?> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        var found = await Workflows.Find(MongoFilters.Owned(tenantId, workflowId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Workflow(found);
    }

    public async Task<Page<WorkflowDocument>> ListAsync(string tenantId, WorkflowQuery query, CancellationToken cancellationToken)
    {
        var filter = MongoFilters.Workflows(tenantId, query);
        var total = await Workflows.CountDocumentsAsync(filter, cancellationToken: cancellationToken);
        var found = await Workflows.Find(filter).Sort(MongoFilters.NewestFirst).Skip((query.Page - 1) * query.Limit).Limit(query.Limit).ToListAsync(cancellationToken);
        return new Page<WorkflowDocument>(found.Select(StoredDocuments.Workflow).ToList(), total);
    }

    /// <summary>One update, only of a workflow not yet deleted; one already deleted (or missing) is read as it is.</summary>
    public async Task<WorkflowDocument?> DeleteAsync(string tenantId, string workflowId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var deleted = await Workflows.FindOneAndUpdateAsync(
            MongoFilters.Owned(tenantId, workflowId) & MongoFilters.NotDeleted,
            MongoFilters.Deleted(at),
            new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.After },
            cancellationToken);
        return deleted is null ? await GetAsync(tenantId, workflowId, cancellationToken) : StoredDocuments.Workflow(deleted);
    }

    /// <summary>
    /// The number is taken by incrementing the workflow inside the transaction: a second upload at once conflicts on
    /// that write, and the driver runs it again after the first commits, so it numbers after it.
    /// </summary>
    public Task<WorkflowDocument?> AddVersionAsync(string tenantId, string workflowId, NewWorkflowVersion version, bool activate, CancellationToken cancellationToken) =>
        database.InTransactionAsync<WorkflowDocument?>(
            async (session, ct) =>
            {
                var numbered = await Workflows.FindOneAndUpdateAsync(
                    session,
                    MongoFilters.Owned(tenantId, workflowId),
                    MongoFilters.NextVersionNumber(),
                    new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.After },
                    ct);
                if (numbered is null)
                {
                    return null;
                }

                var workflow = StoredDocuments.Workflow(numbered);
                var number = workflow.LatestVersion;
                var updated = workflow.WithVersion(number, version, activate);
                await Versions.InsertOneAsync(session, StoredDocuments.Version(new WorkflowVersionDocument(workflowId, tenantId, number, version.Name, version.DefinitionJson, version.CreatedAt)), cancellationToken: ct);
                await Workflows.ReplaceOneAsync(session, MongoFilters.Owned(tenantId, workflowId), StoredDocuments.Workflow(updated), cancellationToken: ct);
                return updated;
            },
            cancellationToken);

    public Task<WorkflowDocument?> ActivateAsync(string tenantId, string workflowId, WorkflowVersionDocument version, DateTimeOffset at, CancellationToken cancellationToken, ForcedActivation? forced = null) =>
        database.InTransactionAsync<WorkflowDocument?>(
            async (session, ct) =>
            {
                var found = await Workflows.Find(session, MongoFilters.Owned(tenantId, workflowId)).FirstOrDefaultAsync(ct);
                if (found is null)
                {
                    return null;
                }

                // A racing upload writes the same document in its own transaction: one of the two is retried after the other.
                var updated = StoredDocuments.Workflow(found).Activated(version, at, forced);
                await Workflows.ReplaceOneAsync(session, MongoFilters.Owned(tenantId, workflowId), StoredDocuments.Workflow(updated), cancellationToken: ct);
                return updated;
            },
            cancellationToken);

    public async Task<WorkflowVersionDocument?> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken)
    {
        var found = await Versions.Find(MongoFilters.VersionOf(tenantId, workflowId, versionNumber)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Version(found);
    }

    public async Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        var found = await Versions.Find(MongoFilters.VersionsOf(tenantId, workflowId))
            .Project(MongoFilters.WithoutDefinition)
            .Sort(MongoFilters.OldestVersionFirst)
            .ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Version).ToList();
    }
}
