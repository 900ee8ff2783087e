using Sessions.Testing;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MongoDB.Bson;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb.Tests;

/// <summary>
/// `mongo-init.js` and the provider declare the same database: the script runs under Node.js against a recording
/// stand-in for mongosh's `db`, and what it creates is held to <see cref="MongoSchema"/>; its validators are held to
/// the documents the provider writes.
/// </summary>
public sealed class MongoInitScriptTests
{
    private static readonly Lazy<JsonObject> Fresh = new(() => Record("[]"));

    [Fact]
    public void It_creates_the_providers_collections_in_the_sessions_database()
    {
        Assert.Equal("sessions", Fresh.Value["database"]!.GetValue<string>());
        Assert.Equal(MongoSchema.Collections, Fresh.Value["collections"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
    }

    [Fact]
    public void It_creates_exactly_the_providers_indexes_with_their_keys_in_order_and_options()
    {
        var declared = Fresh.Value["indexes"]!.AsArray().Select(i => Describe(
            i!["collection"]!.GetValue<string>(),
            i["options"]!["name"]!.GetValue<string>(),
            i["keys"]!.AsObject().Select(k => $"{k.Key}:{k.Value}"),
            i["options"]!["unique"]?.GetValue<bool>() ?? false,
            i["options"]!["expireAfterSeconds"]?.GetValue<int>()));
        var provider = MongoSchema.Indexes.Select(i => Describe(i.Collection, i.Name, i.Keys.Select(k => $"{k.Name}:{k.Value}"), i.Unique, i.ExpireAfterSeconds));
        Assert.Equal(provider.Order(), declared.Order());
    }

    [Fact]
    public void Run_again_it_updates_the_validators_of_the_collections_that_exist()
    {
        var again = Record(System.Text.Json.JsonSerializer.Serialize(MongoSchema.Collections));
        Assert.Empty(again["collections"]!.AsArray());
        Assert.Equal(MongoSchema.Collections, again["commands"]!.AsArray().Select(c => c!["collMod"]!.GetValue<string>()));
        Assert.Equal(MongoSchema.Indexes.Count, again["indexes"]!.AsArray().Count);
    }

    [Fact]
    public void Its_enumerations_are_the_runtimes_vocabulary()
    {
        Assert.Equal(RunStatusNames.All.Order(), Schema(MongoSchema.Runs)["properties"]!["status"]!["enum"]!.AsArray().Select(s => s!.GetValue<string>()).Order());
        Assert.Equal(WireNames<RunEventType>.All.Order(), Schema(MongoSchema.Turns)["properties"]!["events"]!["items"]!["properties"]!["type"]!["enum"]!.AsArray().Select(s => s!.GetValue<string>()).Order());
        Assert.Equal(WireNames<Sessions.Runtime.Batches.BatchStatus>.All.Order(), Schema(MongoSchema.Batches)["properties"]!["status"]!["enum"]!.AsArray().Select(s => s!.GetValue<string>()).Order());
        Assert.Equal(WireNames<Sessions.Runtime.Batches.BatchItemState>.All.Order(), Schema(MongoSchema.BatchItems)["properties"]!["state"]!["enum"]!.AsArray().Select(s => s!.GetValue<string>()).Order());
    }

    [Fact]
    public void Every_document_the_provider_writes_passes_its_collections_validator()
    {
        var run = StoredDocumentsTests.FullRun(new JsonObject { ["x"] = 1 });
        var bare = new RunDocument
        {
            Id = "66a1f00000000000000000cc", TenantId = "t", WorkflowId = "66a1f0000000000000000001", VersionNumber = 0, Status = RunStatus.Completed,
            Version = 1, TurnNumber = 1, LastSeq = 0, Variables = [], CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        };
        var now = DateTimeOffset.UtcNow;
        var written = new (string Collection, BsonDocument Document)[]
        {
            (MongoSchema.Runs, StoredDocuments.Run(run)),
            (MongoSchema.Runs, StoredDocuments.Run(bare)),
            (MongoSchema.Workflows, StoredDocuments.Workflow(new WorkflowDocument(run.WorkflowId, "t", "Flow", null, 0, 0, now, now))),
            (MongoSchema.WorkflowVersions, StoredDocuments.Version(new WorkflowVersionDocument(run.WorkflowId, "t", 0, "Flow", "{}", now))),
            (MongoSchema.Turns, StoredDocuments.Turn(
                new TurnDocument(run.Id, 1, [], [], 1, 2, now, now, run),
                "t",
                [new RunEvent(run.Id, 1, 1, null, now, new WorkflowEnded(RunStatus.Completed)), new RunEvent(run.Id, 2, 1, "say", now, new Said("hi"))])),
            (MongoSchema.Turns, StoredDocuments.Turn(new TurnDocument(run.Id, 2, [], [], 3, 2, now, now, null, new JsonObject { ["status"] = "completed" }), "t", [])),
            (MongoSchema.IdempotencyKeys, StoredDocuments.Key(new IdempotencyRecord("t", "k", "h", 1, new TurnLease("o", now), null, now, now))),
            (MongoSchema.IdempotencyKeys, StoredDocuments.Key(new IdempotencyRecord("t", "k", "h", 2, null, "{}", now, now))),
            (MongoSchema.WebhookDeliveries, StoredDocuments.Delivery(new WebhookDelivery
            {
                Id = "66a1f00000000000000000dd", TenantId = "t", RunId = run.Id, WorkflowId = run.WorkflowId, Url = "https://example.com/h",
                TurnNumber = 2, Status = RunStatus.Completed, OccurredAt = now, State = DeliveryState.Pending, Version = 1, DueAt = now, GiveUpAt = now,
                Attempts = [new DeliveryAttempt(now, null, 3, "refused")],
            })),
            (MongoSchema.Runs, StoredDocuments.Run(bare with { DeletedAt = now, ExpiresAt = now })),
            (MongoSchema.Workflows, StoredDocuments.Workflow(new WorkflowDocument(run.WorkflowId, "t", "Flow", null, 0, 0, now, now) { DeletedAt = now })),
            (MongoSchema.IdempotencyKeys, StoredDocuments.Key(new IdempotencyRecord("t", "k", "h", 2, null, "{}", now, now) { RunId = run.Id })),
            (MongoSchema.RunFiles, StoredDocuments.File(new StoredFile("66a1f00000000000000000f1", "a.pdf", "application/pdf", 3, new string('0', 64)), "t", run.Id)),
            (MongoSchema.FileChunks, StoredDocuments.Chunk("t", "66a1f00000000000000000f1", 0, new byte[] { 1, 2, 3 }, now)),
            (MongoSchema.Batches, StoredDocuments.Batch(new Sessions.Runtime.Batches.BatchDocument(
                "66a1f00000000000000000b1", "t", run.WorkflowId, null, "alice", null, 8, 2, Sessions.Runtime.Batches.BatchStatus.Running, 1, now, now))),
            (MongoSchema.BatchItems, StoredDocuments.BatchItem(new Sessions.Runtime.Batches.BatchItem("66a1f00000000000000000b1", "t", 0, [], Sessions.Runtime.Batches.BatchItemState.Pending, 1))),
            (MongoSchema.BatchItems, StoredDocuments.BatchItem(new Sessions.Runtime.Batches.BatchItem(
                "66a1f00000000000000000b1", "t", 1, new JsonObject { ["a"] = "b" }, Sessions.Runtime.Batches.BatchItemState.Completed, 3, run.Id, "completed", "done", null, now))),
            (MongoSchema.ConversationLinks, StoredDocuments.Conversation(new Sessions.Runtime.Runs.ConversationLink("t", "langgraph", run.Id, run.Id, new JsonObject { ["who"] = "ana" }, "ana", now, now))),
            (MongoSchema.ConversationLinks, StoredDocuments.Conversation(new Sessions.Runtime.Runs.ConversationLink("t", "ai-sdk", "chat-1", run.Id, [], null, now, now))),
        };

        foreach (var (collection, document) in written)
        {
            Assert.Empty(JsonSchemaCheck.Problems(JsonBsonTests.ThroughBytes(document), Schema(collection), "$"));
        }

        // The check itself refuses what the validators refuse.
        var wrong = StoredDocuments.Run(bare);
        wrong["version"] = 1;
        wrong["status"] = "sleeping";
        wrong.Remove("variables");
        Assert.Equal(["$.status", "$.variables", "$.version"], JsonSchemaCheck.Problems(wrong, Schema(MongoSchema.Runs), "$").Select(p => p.Path).Order());
    }

    private static JsonObject Schema(string collection) =>
        Fresh.Value["collections"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == collection)!["options"]!["validator"]!["$jsonSchema"]!.AsObject();

    private static string Describe(string collection, string name, IEnumerable<string> keys, bool unique, int? expireAfterSeconds) =>
        $"{collection}.{name} [{string.Join(", ", keys)}] unique={unique} expireAfterSeconds={expireAfterSeconds}";

    /// <summary>What mongo-init.js asks of a database that already has <paramref name="existingJson"/> collections.</summary>
    private static JsonObject Record(string existingJson)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "record-mongo-init.js"));
        start.ArgumentList.Add(Path.Combine(Repository.Root, "mongo-init.js"));
        start.ArgumentList.Add(existingJson);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEnd();
        var errors = node.StandardError.ReadToEnd();
        node.WaitForExit();
        Assert.True(node.ExitCode == 0, errors);
        return JsonNode.Parse(output)!.AsObject();
    }
}

/// <summary>
/// The part of MongoDB's `$jsonSchema` that mongo-init.js uses (bsonType, required, properties, enum, pattern),
/// checked the way the server checks it, so that a validator that would refuse the provider's writes fails here.
/// </summary>
internal static class JsonSchemaCheck
{
    public static List<(string Path, string Problem)> Problems(BsonValue value, JsonObject schema, string path)
    {
        var problems = new List<(string, string)>();
        if (schema["bsonType"] is { } types)
        {
            var allowed = types is JsonArray many ? many.Select(t => t!.GetValue<string>()).ToList() : [types.GetValue<string>()];
            if (!allowed.Contains(TypeName(value)))
            {
                problems.Add((path, $"is {TypeName(value)}, not {string.Join(" or ", allowed)}"));
                return problems;
            }
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => v!.GetValue<string>() == (value.IsString ? value.AsString : null)))
        {
            problems.Add((path, $"{value} is not one of the enumeration"));
        }

        if (schema["pattern"] is { } pattern && value.IsString && !Regex.IsMatch(value.AsString, pattern.GetValue<string>()))
        {
            problems.Add((path, $"'{value.AsString}' does not match {pattern}"));
        }

        if (value is BsonDocument document)
        {
            foreach (var required in schema["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [])
            {
                if (!document.Contains(required))
                {
                    problems.Add(($"{path}.{required}", "is required"));
                }
            }

            foreach (var (name, property) in schema["properties"]?.AsObject() ?? [])
            {
                if (document.TryGetValue(name, out var field))
                {
                    problems.AddRange(Problems(field, property!.AsObject(), $"{path}.{name}"));
                }
            }
        }

        return problems;
    }

    private static string TypeName(BsonValue value) => value.BsonType switch
    {
        BsonType.Int32 => "int",
        BsonType.Int64 => "long",
        BsonType.Double => "double",
        BsonType.Decimal128 => "decimal",
        BsonType.String => "string",
        BsonType.Document => "object",
        BsonType.Array => "array",
        BsonType.Boolean => "bool",
        BsonType.Null => "null",
        BsonType.DateTime => "date",
        BsonType.ObjectId => "objectId",
        BsonType.Binary => "binData",
        var other => other.ToString(),
    };
}
