using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MongoDB.Bson;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.MongoDb.Tests;

/// <summary>Every document type through BSON bytes and back, compared by value in the shared JSON shape.</summary>
public sealed class StoredDocumentsTests
{
    // Times with 100 ns digits, as the server's clock gives them: a BSON date would keep milliseconds only.
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 12, 2, 5, 8, 9, TimeSpan.Zero).AddTicks(1234567);

    [Fact]
    public void A_run_with_every_field_set_round_trips_exactly()
    {
        var run = FullRun(new JsonObject { ["order"] = new JsonObject { ["total"] = JsonNode.Parse("19.90"), ["lines"] = new JsonArray(1, "two", null) } });
        var stored = JsonBsonTests.ThroughBytes(StoredDocuments.Run(run));

        Assert.Equal(ObjectId.Parse(run.Id), stored["_id"].AsObjectId);
        Assert.Equal(BsonType.Int64, stored["version"].BsonType);
        Assert.Equal("2026-12-02T05:08:09.1234567Z", stored["created_at"].AsString);
        Assert.Equal(Shape(run), Shape(StoredDocuments.Run(stored)));
    }

    [Fact]
    public void Runs_with_random_variables_round_trip_exactly()
    {
        var property = Prop.ForAll(JsonBsonTests.JsonTrees(6).ToArbitrary(), variables =>
        {
            var run = FullRun(variables);
            var back = StoredDocuments.Run(JsonBsonTests.ThroughBytes(StoredDocuments.Run(run)));
            return (Shape(back) == Shape(run)).Label(Shape(run));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void A_time_with_an_offset_reads_back_as_the_same_instant_in_utc()
    {
        var local = new DateTimeOffset(2026, 12, 2, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567);
        var back = StoredDocuments.Time(StoredDocuments.Time(local));
        Assert.Equal((local.UtcTicks, TimeSpan.Zero), (back.UtcTicks, back.Offset));
    }

    [Fact]
    public void Times_sort_as_text_in_time_order()
    {
        var times = new[] { T0.AddTicks(-1), T0, T0.AddTicks(1), T0.AddYears(-30), T0.AddYears(900), new DateTimeOffset(2026, 12, 2, 6, 0, 0, TimeSpan.Zero) };
        Assert.Equal(
            times.OrderBy(t => t).Select(t => t.UtcTicks),
            times.Select(StoredDocuments.Time).OrderBy(s => s.AsString, StringComparer.Ordinal).Select(s => StoredDocuments.Time(s).UtcTicks));
    }

    [Fact]
    public void Events_turns_workflows_versions_and_keys_round_trip_exactly()
    {
        var run = FullRun(new JsonObject { ["x"] = 1 });
        var turn = new TurnDocument(run.Id, 3, new JsonObject { ["user_message"] = "hi" }, new JsonObject { ["status"] = "completed" }, 8, 9, T0, T0.AddSeconds(1), run, new JsonObject { ["variables"] = new JsonObject { ["set"] = new JsonObject { ["x"] = 2 } } });
        RunEvent[] events =
        [
            new(run.Id, 8, 3, "ask", T0, new Said("first")),
            new(run.Id, 9, 3, null, T0.AddTicks(1), new Said("Hej 👋") { Unknown = new() { ["n"] = JsonDocument.Parse("1.50").RootElement } }),
        ];
        var stored = JsonBsonTests.ThroughBytes(StoredDocuments.Turn(turn, "t1", events));
        Assert.Equal(Shape(turn), Shape(StoredDocuments.Turn(stored)));
        foreach (var after in new long[] { 0, 7, 8, 9 })
        {
            var back = new List<RunEvent>();
            StoredDocuments.Events(run.Id, stored, after, 10, back);
            Assert.Equal(events.Where(e => e.Seq > after).Select(Shape), back.Select(Shape));
        }

        var workflow = new WorkflowDocument("66a1f0000000000000000001", "t1", "Order status", null, 2, 3, T0, T0.AddDays(1));
        Assert.Equal(workflow, StoredDocuments.Workflow(JsonBsonTests.ThroughBytes(StoredDocuments.Workflow(workflow))));

        var version = new WorkflowVersionDocument(workflow.Id, "t1", 3, "Order status", "{ \"name\" : \"Order status\",\n \"nodes\": [] }", T0);
        Assert.Equal(version, StoredDocuments.Version(JsonBsonTests.ThroughBytes(StoredDocuments.Version(version))));

        var key = new IdempotencyRecord("t1", "key-1", "hash", 4, new TurnLease("owner", T0.AddSeconds(30)), """{"run_id":"x"}""", T0.AddDays(1), T0);
        Assert.Equal(key, StoredDocuments.Key(JsonBsonTests.ThroughBytes(StoredDocuments.Key(key))));
        var unanswered = key with { Lease = null, Answer = null };
        Assert.Equal(unanswered, StoredDocuments.Key(JsonBsonTests.ThroughBytes(StoredDocuments.Key(unanswered))));
        var answeredForRun = key with { Lease = null, RunId = run.Id };
        Assert.Equal(answeredForRun, StoredDocuments.Key(JsonBsonTests.ThroughBytes(StoredDocuments.Key(answeredForRun))));

        var deleted = workflow with { DeletedAt = T0.AddDays(2) };
        Assert.Equal(deleted, StoredDocuments.Workflow(JsonBsonTests.ThroughBytes(StoredDocuments.Workflow(deleted))));
        var ending = run with { DeletedAt = T0.AddDays(3), ExpiresAt = T0.AddDays(30) };
        Assert.Equal(Shape(ending), Shape(StoredDocuments.Run(JsonBsonTests.ThroughBytes(StoredDocuments.Run(ending)))));
    }

    [Fact]
    public void Files_batches_and_their_items_round_trip_exactly()
    {
        var file = new StoredFile("66a1f00000000000000000f1", "contract ü.pdf", "application/pdf", 3_000_000_000, new string('a', 64));
        var stored = JsonBsonTests.ThroughBytes(StoredDocuments.File(file, "t1", "66a1f00000000000000000aa"));
        Assert.Equal(("t1", "66a1f00000000000000000aa"), (stored["tenant_id"].AsString, stored["run_id"].AsString));
        Assert.Equal(file, StoredDocuments.File(stored));

        var chunk = JsonBsonTests.ThroughBytes(StoredDocuments.Chunk("t1", file.FileId, 2, new byte[] { 0, 1, 255 }, T0));
        Assert.Equal(new byte[] { 0, 1, 255 }, chunk["data"].AsBsonBinaryData.Bytes);

        var batch = new Sessions.Runtime.Batches.BatchDocument("66a1f00000000000000000b1", "t1", "66a1f0000000000000000001", 2, "alice", "user-1", 8, 1000,
            Sessions.Runtime.Batches.BatchStatus.Running, 3, T0, T0.AddSeconds(1), T0.AddSeconds(2));
        Assert.Equal(batch, StoredDocuments.Batch(JsonBsonTests.ThroughBytes(StoredDocuments.Batch(batch))));
        var item = new Sessions.Runtime.Batches.BatchItem(batch.Id, "t1", 7, new JsonObject { ["name"] = "Ada", ["n"] = 1.5 }, Sessions.Runtime.Batches.BatchItemState.Waiting, 4,
            "66a1f00000000000000000aa", "waiting_for_user_input", new JsonObject { ["x"] = new JsonArray(1, "two") }, null, T0.AddMinutes(2));
        Assert.Equal(Shape(item), Shape(StoredDocuments.BatchItem(JsonBsonTests.ThroughBytes(StoredDocuments.BatchItem(item)))));
    }

    [Fact]
    public void Variables_as_deep_as_the_store_allows_round_trip_in_a_runs_turn_record_and_its_changes()
    {
        // Sessions:Turns:MaxJsonDepth is at most 90 on MongoDB, so a variable nests at most 87 levels (the limit less 3).
        JsonNode deep = JsonValue.Create("bottom");
        for (var level = 0; level < 87; level++)
        {
            deep = level % 2 == 0 ? new JsonArray(deep) : new JsonObject { ["next"] = deep };
        }

        var run = FullRun(new JsonObject { ["deep"] = deep.DeepClone() });
        var changes = new JsonObject { ["variables"] = new JsonObject { ["set"] = new JsonObject { ["deep"] = deep } } };
        var turn = new TurnDocument(run.Id, 3, [], [], 1, 2, T0, T0, run, changes);
        Assert.Equal(Shape(turn), Shape(StoredDocuments.Turn(JsonBsonTests.ThroughBytes(StoredDocuments.Turn(turn, "t1", [])))));
    }

    [Fact]
    public void A_keys_purge_time_is_a_bson_date_never_before_its_retention_ends()
    {
        var key = new IdempotencyRecord("t1", "k", "h", 1, null, null, T0, T0);
        var purgeAt = StoredDocuments.Key(key)["purge_at"];
        Assert.Equal(BsonType.DateTime, purgeAt.BsonType);
        Assert.True(purgeAt.ToUniversalTime() >= T0.UtcDateTime);
        Assert.True(purgeAt.ToUniversalTime() - T0.UtcDateTime < TimeSpan.FromMilliseconds(1));
    }

    internal static RunDocument FullRun(JsonObject variables) => new()
    {
        Id = "66a1f00000000000000000aa",
        TenantId = "t1",
        WorkflowId = "66a1f0000000000000000001",
        VersionNumber = 2,
        Status = RunStatus.WaitingForUserInput,
        Version = 5,
        Lease = new TurnLease("server-a", T0.AddSeconds(30)),
        TurnNumber = 4,
        LastSeq = 17,
        Variables = variables,
        CursorNodeId = "next",
        WaitingNodeId = "ask",
        WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Order number?", ["input"] = new JsonObject { ["kind"] = "text" } },
        Error = "none yet",
        Output = new JsonArray("a", 1.5),
        RunBy = "ada",
        TerminationSource = TerminationSource.UserStop,
        Conversation = new JsonArray(new JsonObject { ["role"] = "user", ["text"] = "hej" }),
        LlmTokenUsage = new JsonObject { ["total"] = 12 },
        LlmLatencyStats = new JsonObject { ["total_ms"] = 3.25 },
        Origin = RunOrigin.Fork,
        SourceRunId = "66a1f00000000000000000bb",
        CheckpointSourceTurnIndex = 2,
        ChangedBytesSinceSnapshot = 5_000_000_000,
        CreatedAt = T0,
        UpdatedAt = T0.AddMinutes(1),
        CompletedAt = T0.AddMinutes(2),
    };

    private static string Shape<T>(T value) => JsonSerializer.Serialize(value, DocumentJson.Options);
}
