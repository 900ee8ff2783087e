using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb.Tests;

/// <summary>
/// What the provider sends for each contract operation, rendered by the driver's own serializer registry, against the
/// BSON it must be: the version check in every write, the tenant in every read, times compared as text.
/// </summary>
public sealed class MongoFiltersTests
{
    private const string RunId = "66a1f00000000000000000aa";
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 12, 2, 5, 8, 9, TimeSpan.Zero).AddTicks(1234567);
    private static readonly RenderArgs<BsonDocument> Args = new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);

    [Fact]
    public void The_version_checked_write_matches_id_tenant_and_version()
    {
        Assert.Equal(
            new BsonDocument { ["_id"] = ObjectId.Parse(RunId), ["tenant_id"] = "t1", ["version"] = 7L },
            MongoFilters.AtVersion("t1", RunId, 7).Render(Args));
        Assert.Equal(BsonType.Int64, MongoFilters.AtVersion("t1", RunId, 7).Render(Args)["version"].BsonType);
    }

    [Fact]
    public void A_keys_write_and_delete_match_tenant_key_and_version()
    {
        Assert.Equal(new BsonDocument { ["tenant_id"] = "t1", ["key"] = "k", ["version"] = 3L }, MongoFilters.KeyAtVersion("t1", "k", 3).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "retain_until": { "$lte": "2026-12-02T05:08:09.1234567Z" } }"""), MongoFilters.KeysRetainedUntil(T0).Render(Args));
    }

    [Fact]
    public void Events_and_turns_are_read_by_run_and_tenant_after_a_number_in_order()
    {
        Assert.Equal(
            BsonDocument.Parse("""{ "run_id": "66a1f00000000000000000aa", "tenant_id": "t1", "last_seq": { "$gt": NumberLong(5) }, "events": { "$exists": true } }"""),
            MongoFilters.TurnsWithEventsAfter("t1", RunId, 5).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "last_seq": 1 }"""), MongoFilters.ByLastSeq.Render(Args));
        Assert.Equal(
            BsonDocument.Parse("""{ "run_id": "66a1f00000000000000000aa", "tenant_id": "t1", "turn_number": { "$gt": -1 } }"""),
            MongoFilters.TurnsAfter("t1", RunId, -1).Render(Args));
    }

    [Fact]
    public void A_run_query_with_every_filter_renders_each_with_and()
    {
        var query = new RunQuery
        {
            WorkflowId = "66a1f0000000000000000001",
            Statuses = [RunStatus.Paused, RunStatus.WaitingForUserInput],
            RunBy = "ada",
            CreatedFrom = T0,
            CreatedTo = T0.AddDays(1),
            WorkflowNameContains = "order",
        };
        Assert.Equal(
            BsonDocument.Parse("""
                { "$and": [
                  { "tenant_id": "t1" },
                  { "deleted_at": null },
                  { "workflow_id": "66a1f0000000000000000001" },
                  { "workflow_id": { "$in": ["66a1f0000000000000000001", "66a1f0000000000000000002"] } },
                  { "status": { "$in": ["paused", "waiting_for_user_input"] } },
                  { "run_by": "ada" },
                  { "created_at": { "$gte": "2026-12-02T05:08:09.1234567Z" } },
                  { "created_at": { "$lt": "2026-12-03T05:08:09.1234567Z" } }
                ] }
                """),
            MongoFilters.Runs("t1", query, ["66a1f0000000000000000001", "66a1f0000000000000000002"]).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "tenant_id": "t1", "deleted_at": null }"""), MongoFilters.Runs("t1", new RunQuery(), null).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "tenant_id": "t1" }"""), MongoFilters.Runs("t1", new RunQuery { IncludeDeleted = true }, null).Render(Args));
        Assert.Equal(
            BsonDocument.Parse("""{ "tenant_id": "t1", "deleted_at": null, "labels": { "$all": ["metadata.tier=gold", "origin_reference=o-1"] } }"""),
            MongoFilters.Runs("t1", new RunQuery { Labels = ["metadata.tier=gold", "origin_reference=o-1"] }, null).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "created_at": -1, "_id": -1 }"""), MongoFilters.NewestFirst.Render(Args));
    }

    [Fact]
    public void A_name_search_matches_its_text_literally_ignoring_case()
    {
        var rendered = MongoFilters.NameContains("t1", "a.b (v2)*").Render(Args);
        Assert.Equal("t1", rendered["tenant_id"].AsString);
        var pattern = rendered["name"].AsBsonRegularExpression;
        Assert.Equal("i", pattern.Options);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch("my A.B (V2)* flow", pattern.Pattern, System.Text.RegularExpressions.RegexOptions.IgnoreCase));
        Assert.False(System.Text.RegularExpressions.Regex.IsMatch("axb v2 flow", pattern.Pattern, System.Text.RegularExpressions.RegexOptions.IgnoreCase));
    }

    [Fact]
    public void The_reaper_scans_by_status_and_age_oldest_first()
    {
        Assert.Equal(
            BsonDocument.Parse("""{ "status": { "$in": ["waiting_for_user_input"] }, "updated_at": { "$lt": "2026-12-02T05:08:09.1234567Z" }, "deleted_at": null }"""),
            MongoFilters.Inactive([RunStatus.WaitingForUserInput], T0).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "updated_at": 1 }"""), MongoFilters.LeastRecentlyUpdated.Render(Args));
    }

    [Fact]
    public void Due_timers_and_deliveries_are_scanned_by_time_as_text_earliest_first()
    {
        Assert.Equal(BsonDocument.Parse("""{ "due_at": { "$lte": "2026-12-02T05:08:09.1234567Z" } }"""), MongoFilters.WorkDue(T0).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "due_at": 1 }"""), MongoFilters.EarliestDueFirst.Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "state": "pending", "due_at": { "$lte": "2026-12-02T05:08:09.1234567Z" } }"""), MongoFilters.DeliveriesDue(T0).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "run_id": "r", "tenant_id": "t1" }"""), MongoFilters.DeliveriesOf("t1", "r").Render(Args));
    }

    [Fact]
    public void Deletion_and_purge_filter_on_times_as_text_and_erase_by_run()
    {
        Assert.Equal(
            BsonDocument.Parse("""{ "$or": [ { "expires_at": { "$lte": "2026-12-02T05:08:09.1234567Z" } }, { "deleted_at": { "$lte": "2026-12-01T05:08:09.1234567Z" } } ] }"""),
            MongoFilters.Purgeable(null, T0, T0.AddDays(-1)).Render(Args));

        // An admin's purge sees its own tenant only.
        Assert.Equal(
            BsonDocument.Parse("""{ "tenant_id": "t1", "$or": [ { "expires_at": { "$lte": "2026-12-02T05:08:09.1234567Z" } }, { "deleted_at": { "$lte": "2026-12-01T05:08:09.1234567Z" } } ] }"""),
            MongoFilters.Purgeable("t1", T0, T0.AddDays(-1)).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "tenant_id": "t1", "created_at": { "$lt": "2026-12-02T05:08:09.1234567Z" } }"""), MongoFilters.ChunksWrittenBefore("t1", T0).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "created_at": { "$lt": "2026-12-02T05:08:09.1234567Z" } }"""), MongoFilters.ChunksWrittenBefore(null, T0).Render(Args));
        Assert.Equal(BsonDocument.Parse("""{ "run_id": "r", "tenant_id": "t1" }"""), MongoFilters.OfRun("t1", "r").Render(Args));
        var byName = MongoFilters.Workflows("t1", new WorkflowQuery { NameContains = "100%." }).Render(Args);
        Assert.Equal(("t1", BsonNull.Value), (byName["tenant_id"].AsString, byName["deleted_at"]));
        Assert.Equal(new BsonRegularExpression(@"100%\.", "i"), byName["name"].AsBsonRegularExpression);
        Assert.Equal(BsonDocument.Parse("""{ "tenant_id": "t1" }"""), MongoFilters.Workflows("t1", new WorkflowQuery { IncludeDeleted = true }).Render(Args));
        Assert.Equal(
            BsonDocument.Parse("""{ "$set": { "deleted_at": "2026-12-02T05:08:09.1234567Z", "updated_at": "2026-12-02T05:08:09.1234567Z" } }"""),
            MongoFilters.Deleted(T0).Render(Args));
    }

    [Fact]
    public void A_new_version_number_is_taken_by_an_increment_of_the_workflow()
    {
        Assert.Equal(BsonDocument.Parse("""{ "$inc": { "latest_version": 1 } }"""), MongoFilters.NextVersionNumber().Render(Args));
        Assert.Equal(
            BsonDocument.Parse("""{ "workflow_id": "w", "tenant_id": "t1", "version_number": 2 }"""),
            MongoFilters.VersionOf("t1", "w", 2).Render(Args));
    }
}
