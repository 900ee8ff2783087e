using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// Runs as `WorkflowRun` documents (`_id` the run's ObjectId), their events and turns one document each. A turn
/// touches one run, so every write of a turn is keyed by it, which is also what a sharded cluster would key on.
/// </summary>
public sealed class MongoRunStore(MongoDatabase database) : IRunStore
{
    public string DbSystem => "mongodb";

    private IMongoCollection<BsonDocument> Runs => database.Collection(MongoSchema.Runs);

    private IMongoCollection<BsonDocument> Turns => database.Collection(MongoSchema.Turns);


    public async Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        var found = await Runs.Find(MongoFilters.Owned(tenantId, runId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.Run(found);
    }

    /// <summary>One replace filtered on id, tenant and version; only when it finds the run moved on is it read again.</summary>
    public async Task<ReplaceResult> TryReplaceAsync(RunDocument run, long expectedVersion, WriteDurability durability, CancellationToken cancellationToken)
    {
        // Every write is at majority, provisional ones too: this client reads at majority, and a lease acknowledged by
        // the primary alone could be missing from the run the next reader gets.
        var replaced = await Runs.ReplaceOneAsync(MongoFilters.AtVersion(run.TenantId, run.Id, expectedVersion), StoredDocuments.Run(run), cancellationToken: cancellationToken);
        return replaced.MatchedCount == 1 ? ReplaceResult.Done : new ReplaceResult(false, await GetAsync(run.TenantId, run.Id, cancellationToken));
    }

    /// <summary>
    /// One transaction: the run (inserted, or replaced at its version), the events, the turn and the answer. A racing
    /// commit from the same version either conflicts on the run's document (the driver retries it, and the retry finds
    /// the version moved) or finds the version moved at once; both write nothing.
    /// </summary>
    public async Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken)
    {
        var run = commit.Run;
        TurnEvents.Check(commit.Turn, commit.Events);

        var turnDocument = commit.Turn is { } turn ? StoredDocuments.Turn(turn, run.TenantId, commit.Events) : null;
        try
        {
            await database.InTransactionAsync(
                async (session, ct) =>
                {
                    if (commit.ExpectedVersion == 0)
                    {
                        await Runs.InsertOneAsync(session, StoredDocuments.Run(run), cancellationToken: ct);
                    }
                    else if ((await Runs.ReplaceOneAsync(session, MongoFilters.AtVersion(run.TenantId, run.Id, commit.ExpectedVersion), StoredDocuments.Run(run), cancellationToken: ct)).MatchedCount == 0)
                    {
                        throw new StoreConflictException($"Run {run.Id} is no longer at version {commit.ExpectedVersion}.");
                    }

                    if (turnDocument is not null)
                    {
                        await Turns.InsertOneAsync(session, turnDocument, cancellationToken: ct);
                    }

                    await MongoWebhookStore.InsertAsync(database.Collection(MongoSchema.WebhookDeliveries), session, commit.Deliveries, ct);
                    await MongoFileStore.InsertFilesAsync(database.Collection(MongoSchema.RunFiles), session, run.TenantId, run.Id, commit.Files, ct);
                    if (commit.Answer is { } answer
                        && !await MongoIdempotencyStore.TryWriteAsync(database.Collection(MongoSchema.IdempotencyKeys), session, answer.Record, answer.ExpectedVersion, ct))
                    {
                        throw new StoreConflictException($"Idempotency key '{answer.Record.Key}' is no longer held by this turn.");
                    }

                    return true;
                },
                cancellationToken);
        }
        catch (MongoException ex) when (MongoDatabase.IsDuplicateKey(ex))
        {
            throw new StoreConflictException($"Run {run.Id} already exists, or already has turn {commit.Turn?.TurnNumber}.");
        }
    }

    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        // The turns that hold them, found by their last seqs; each after the first holds at least one of those asked for.
        var turns = await Turns.Find(MongoFilters.TurnsWithEventsAfter(tenantId, runId, afterSeq))
            .Sort(MongoFilters.ByLastSeq)
            .Project(MongoFilters.TurnEventsOnly)
            .Limit(limit)
            .ToListAsync(cancellationToken);
        var events = new List<RunEvent>();
        foreach (var turn in turns.TakeWhile(_ => events.Count < limit))
        {
            StoredDocuments.Events(runId, turn, afterSeq, limit, events);
        }

        return events;
    }

    public async Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        var find = Turns.Find(MongoFilters.TurnsAfter(tenantId, runId, afterTurn)).Sort(MongoFilters.ByTurn).Project(MongoFilters.WithoutEvents);
        var found = await (limit == int.MaxValue ? find : find.Limit(limit)).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Turn).ToList();
    }

    public async Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        if (await FilterAsync(tenantId, query, cancellationToken) is not { } filter)
        {
            return new Page<RunSummary>([], 0);
        }

        var total = await Runs.CountDocumentsAsync(filter, cancellationToken: cancellationToken);
        var found = await Runs.Find(filter).Sort(MongoFilters.NewestFirst).Skip((query.Page - 1) * query.Limit).Limit(query.Limit).ToListAsync(cancellationToken);
        var runs = found.Select(StoredDocuments.Run).ToList();
        var names = await WorkflowNamesAsync(tenantId, runs.Select(r => r.WorkflowId).Distinct().ToList(), cancellationToken);
        return new Page<RunSummary>(runs.Select(r => new RunSummary(r, names.GetValueOrDefault(r.WorkflowId, ""))).ToList(), total);
    }

    public async Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        var counts = Enum.GetValues<RunStatus>().ToDictionary(s => s, _ => 0L);
        if (await FilterAsync(tenantId, query, cancellationToken) is not { } filter)
        {
            return counts;
        }

        var groups = await Runs.Aggregate()
            .Match(filter)
            .Group(new BsonDocument { ["_id"] = "$status", ["count"] = new BsonDocument("$sum", 1) })
            .ToListAsync(cancellationToken);
        foreach (var group in groups)
        {
            counts[RunStatusNames.FromWire(group["_id"].AsString)] = group["count"].ToInt64();
        }

        return counts;
    }

    public Task<long> CountDueWorkAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Runs.CountDocumentsAsync(MongoFilters.WorkDue(now), cancellationToken: cancellationToken);

    public async Task<IReadOnlyList<RunCount>> CountWaitingAsync(CancellationToken cancellationToken)
    {
        var waiting = Builders<BsonDocument>.Filter.In("status", RunMachine.WaitingForPeople.Select(s => s.ToWire())) & MongoFilters.NotDeleted;
        var groups = await Runs.Aggregate()
            .Match(waiting)
            .Group(new BsonDocument
            {
                ["_id"] = new BsonDocument { ["tenant_id"] = "$tenant_id", ["workflow_id"] = "$workflow_id", ["status"] = "$status" },
                ["count"] = new BsonDocument("$sum", 1),
            })
            .ToListAsync(cancellationToken);
        return groups.Select(g => new RunCount(g["_id"]["tenant_id"].AsString, g["_id"]["workflow_id"].AsString, RunStatusNames.FromWire(g["_id"]["status"].AsString), g["count"].ToInt64())).ToList();
    }

    public async Task<IReadOnlyList<RunDocument>> ListDueWorkAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var found = await Runs.Find(MongoFilters.WorkDue(now)).Sort(MongoFilters.EarliestDueFirst).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Run).ToList();
    }

    public async Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken)
    {
        var found = await Runs.Find(MongoFilters.Inactive(statuses, updatedBefore)).Sort(MongoFilters.LeastRecentlyUpdated).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Run).ToList();
    }

    public async Task<IReadOnlyList<RunDocument>> ListPurgeableAsync(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy, int limit, CancellationToken cancellationToken)
    {
        var found = await Runs.Find(MongoFilters.Purgeable(tenantId, expiredBy, deletedBy)).Limit(limit).ToListAsync(cancellationToken);
        return found.Select(StoredDocuments.Run).ToList();
    }

    /// <summary>One transaction: the run at its version (else nothing), then everything kept for it in the other collections.</summary>
    public Task<bool> PurgeAsync(RunDocument run, CancellationToken cancellationToken) =>
        database.InTransactionAsync(
            async (session, ct) =>
            {
                if ((await Runs.DeleteOneAsync(session, MongoFilters.AtVersion(run.TenantId, run.Id, run.Version), cancellationToken: ct)).DeletedCount == 0)
                {
                    return false;
                }

                var owned = MongoFilters.OfRun(run.TenantId, run.Id);
                var files = await database.Collection(MongoSchema.RunFiles).Distinct<ObjectId>(session, "_id", owned, cancellationToken: ct).ToListAsync(ct);
                if (files.Count > 0)
                {
                    await database.Collection(MongoSchema.FileChunks).DeleteManyAsync(session, MongoFilters.ChunksOfFiles(files.Select(f => f.ToString())), cancellationToken: ct);
                }

                foreach (var collection in new[] { MongoSchema.Turns, MongoSchema.IdempotencyKeys, MongoSchema.WebhookDeliveries, MongoSchema.RunFiles })
                {
                    await database.Collection(collection).DeleteManyAsync(session, owned, cancellationToken: ct);
                }

                return true;
            },
            cancellationToken);

    /// <summary>The run query's filter, or null when its workflow-name filter matches no workflow (then nothing matches).</summary>
    private async Task<FilterDefinition<BsonDocument>?> FilterAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        List<string>? byName = null;
        if (!string.IsNullOrEmpty(query.WorkflowNameContains))
        {
            var matching = await database.Collection(MongoSchema.Workflows)
                .Find(MongoFilters.NameContains(tenantId, query.WorkflowNameContains))
                .Project(Builders<BsonDocument>.Projection.Include("_id"))
                .ToListAsync(cancellationToken);
            byName = matching.Select(w => w["_id"].AsObjectId.ToString()).ToList();
            if (byName.Count == 0)
            {
                return null;
            }
        }

        return MongoFilters.Runs(tenantId, query, byName);
    }

    private async Task<Dictionary<string, string>> WorkflowNamesAsync(string tenantId, IReadOnlyList<string> workflowIds, CancellationToken cancellationToken)
    {
        if (workflowIds.Count == 0)
        {
            return [];
        }

        var found = await database.Collection(MongoSchema.Workflows)
            .Find(MongoFilters.Tenant(tenantId) & Builders<BsonDocument>.Filter.In("_id", workflowIds.Select(StoredDocuments.Id)))
            .Project(Builders<BsonDocument>.Projection.Include("name"))
            .ToListAsync(cancellationToken);
        return found.ToDictionary(w => w["_id"].AsObjectId.ToString(), w => w["name"].AsString);
    }
}
