using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MongoDB.Bson;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;
using Sessions.Runtime.Webhooks;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// The documents of each collection, mapped field by field. Runs, turns and workflows keep the one JSON shape every
/// provider stores (<see cref="DocumentJson"/>), converted exactly by <see cref="JsonBson"/>, with `_id` the native
/// ObjectId; the fields that queries filter or sort on are written here explicitly.
///
/// Times are fixed-width UTC text with 100 ns digits ("2026-12-02T06:41:59.1234567Z"): they read back exactly (a BSON
/// date keeps milliseconds only) and sort and compare as text in time order. The one BSON date is a key's `purge_at`,
/// which its TTL index needs.
/// </summary>
public static class StoredDocuments
{
    private const string TimeFormat = "yyyy-MM-ddTHH:mm:ss.fffffffZ";

    public static BsonString Time(DateTimeOffset time) => new(time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));

    public static DateTimeOffset Time(BsonValue text) =>
        DateTimeOffset.ParseExact(text.AsString, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static BsonValue OptionalTime(DateTimeOffset? time) => time is { } at ? Time(at) : BsonNull.Value;

    public static ObjectId Id(string id) => ObjectId.Parse(id);

    public static BsonDocument Run(RunDocument run)
    {
        var document = Shaped(run, run.Id);
        document["created_at"] = Time(run.CreatedAt);
        document["updated_at"] = Time(run.UpdatedAt);
        document["version"] = new BsonInt64(run.Version);
        document["last_seq"] = new BsonInt64(run.LastSeq);

        // Beside the queue and timer in the shared shape, in the form that compares as time: what the due-work scan filters on.
        document["due_at"] = OptionalTime(run.DueAt);

        // What the purge scans for, as time: when the run was deleted, and when its retention runs out.
        document["deleted_at"] = OptionalTime(run.DeletedAt);
        document["expires_at"] = OptionalTime(run.ExpiresAt);

        // Its labels as searched (Runs.RunLabels), one multikey index away.
        document["labels"] = new BsonArray(RunLabels.Of(run));
        return document;
    }

    public static RunDocument Run(BsonDocument document) => Read<RunDocument>(document, "due_at", "labels");

    public static BsonDocument Workflow(WorkflowDocument workflow)
    {
        var document = Shaped(workflow, workflow.Id);
        document["created_at"] = Time(workflow.CreatedAt);
        document["updated_at"] = Time(workflow.UpdatedAt);
        document["deleted_at"] = OptionalTime(workflow.DeletedAt);
        return document;
    }

    public static WorkflowDocument Workflow(BsonDocument document) => Read<WorkflowDocument>(document);

    /// <summary>The definition stays the text that was uploaded, byte for byte.</summary>
    public static BsonDocument Version(WorkflowVersionDocument version) => new()
    {
        ["workflow_id"] = version.WorkflowId,
        ["tenant_id"] = version.TenantId,
        ["version_number"] = version.VersionNumber,
        ["name"] = version.Name,
        ["definition_json"] = version.DefinitionJson,
        ["created_at"] = Time(version.CreatedAt),
    };

    public static WorkflowVersionDocument Version(BsonDocument document) => new(
        document["workflow_id"].AsString,
        document["tenant_id"].AsString,
        document["version_number"].AsInt32,
        document["name"].AsString,
        document.GetValue("definition_json", "").AsString,
        Time(document["created_at"]));

    /// <summary>An event as its turn's document keeps it, in the turn's `events` array (its seq and turn are the turn's).</summary>
    public static BsonDocument Event(RunEvent item) => new()
    {
        ["type"] = item.Type.ToWire(),
        ["node_id"] = (BsonValue?)item.NodeId ?? BsonNull.Value,
        ["timestamp"] = Time(item.Timestamp),
        ["fields"] = JsonBson.ToBson(EventCatalogue.FieldsObject(item.Payload)),
    };

    /// <summary>The turn's events after <paramref name="afterSeq"/>, appended to <paramref name="into"/> until it holds <paramref name="limit"/>.</summary>
    public static void Events(string runId, BsonDocument turn, long afterSeq, int limit, List<RunEvent> into)
    {
        var items = turn["events"].AsBsonArray;
        var firstSeq = turn["last_seq"].ToInt64() - items.Count + 1;
        var turnNumber = turn["turn_number"].AsInt32;
        for (var i = (int)Math.Max(0, afterSeq + 1 - firstSeq); i < items.Count && into.Count < limit; i++)
        {
            var item = items[i].AsBsonDocument;
            into.Add(new RunEvent(
                runId,
                firstSeq + i,
                turnNumber,
                item["node_id"].IsBsonNull ? null : item["node_id"].AsString,
                Time(item["timestamp"]),
                EventCatalogue.ReadFields(WireNames<RunEventType>.Parse(item["type"].AsString), JsonBson.ToJson(item["fields"].AsBsonDocument))));
        }
    }

    public static BsonDocument Conversation(ConversationLink link) => new()
    {
        ["tenant_id"] = link.TenantId,
        ["protocol"] = link.Protocol,
        ["external_id"] = link.ExternalId,
        ["run_id"] = link.RunId,
        ["created_by"] = (BsonValue?)link.CreatedBy ?? BsonNull.Value,
        ["created_at"] = Time(link.CreatedAt),
        ["updated_at"] = Time(link.UpdatedAt),
        ["metadata"] = JsonBson.ToBson(link.Metadata),
    };

    public static ConversationLink Conversation(BsonDocument document) => new(
        document["tenant_id"].AsString,
        document["protocol"].AsString,
        document["external_id"].AsString,
        document["run_id"].AsString,
        JsonBson.ToJson(document["metadata"].AsBsonDocument),
        document["created_by"].IsBsonNull ? null : document["created_by"].AsString,
        Time(document["created_at"]),
        Time(document["updated_at"]));

    /// <summary>The turn with its events (none for a turn that has none, such as a fork's turn 0).</summary>
    public static BsonDocument Turn(TurnDocument turn, string tenantId, IReadOnlyList<RunEvent> events)
    {
        var document = JsonBson.ToBson(JsonSerializer.SerializeToNode(turn, DocumentJson.Options)!.AsObject());
        document["tenant_id"] = tenantId;
        if (events.Count > 0)
        {
            document["events"] = new BsonArray(events.Select(Event));
        }

        return document;
    }

    public static TurnDocument Turn(BsonDocument document)
    {
        var json = JsonBson.ToJson(document);
        json.Remove("_id");
        json.Remove("tenant_id");
        json.Remove("events");
        return json.Deserialize<TurnDocument>(DocumentJson.Options)!;
    }

    public static BsonDocument Delivery(WebhookDelivery delivery)
    {
        var document = Shaped(delivery, delivery.Id);
        document["due_at"] = Time(delivery.DueAt);
        document["version"] = new BsonInt64(delivery.Version);
        return document;
    }

    public static WebhookDelivery Delivery(BsonDocument document) => Read<WebhookDelivery>(document);

    /// <summary>A file of a run: its descriptor, with `_id` the file's ObjectId and the run it belongs to.</summary>
    public static BsonDocument File(StoredFile file, string tenantId, string runId)
    {
        var document = Shaped(file, file.FileId);
        document.Remove("file_id");
        document["tenant_id"] = tenantId;
        document["run_id"] = runId;
        return document;
    }

    public static StoredFile File(BsonDocument document)
    {
        var json = new JsonObject { ["file_id"] = document["_id"].AsObjectId.ToString() };
        foreach (var element in document.Where(e => e.Name is not ("_id" or "tenant_id" or "run_id")))
        {
            json.Add(element.Name, JsonBson.ToJson(element.Value));
        }

        return json.Deserialize<StoredFile>(DocumentJson.Options)!;
    }

    public static BsonDocument Batch(Sessions.Runtime.Batches.BatchDocument batch)
    {
        var document = Shaped(batch, batch.Id);
        document["created_at"] = Time(batch.CreatedAt);
        document["updated_at"] = Time(batch.UpdatedAt);
        document["version"] = new BsonInt64(batch.Version);
        return document;
    }

    public static Sessions.Runtime.Batches.BatchDocument Batch(BsonDocument document) => Read<Sessions.Runtime.Batches.BatchDocument>(document);

    /// <summary>An item in the shared JSON shape; no `_id` of its own use (the driver's), found by batch and index.</summary>
    public static BsonDocument BatchItem(Sessions.Runtime.Batches.BatchItem item)
    {
        var document = JsonBson.ToBson(JsonSerializer.SerializeToNode(item, DocumentJson.Options)!.AsObject());
        document["version"] = new BsonInt64(item.Version);
        return document;
    }

    public static Sessions.Runtime.Batches.BatchItem BatchItem(BsonDocument document)
    {
        var json = JsonBson.ToJson(document);
        json.Remove("_id");
        return json.Deserialize<Sessions.Runtime.Batches.BatchItem>(DocumentJson.Options)!;
    }

    /// <summary>One piece of a file's bytes, as binary data.</summary>
    public static BsonDocument Chunk(string tenantId, string fileId, int index, ReadOnlyMemory<byte> data, DateTimeOffset at) => new()
    {
        ["file_id"] = fileId,
        ["chunk"] = index,
        ["tenant_id"] = tenantId,
        ["created_at"] = Time(at),
        ["data"] = new BsonBinaryData(data.ToArray()),
    };

    /// <summary>No `_id`: a key keeps the one it was inserted with when it is replaced.</summary>
    public static BsonDocument Key(IdempotencyRecord record) => new()
    {
        ["tenant_id"] = record.TenantId,
        ["key"] = record.Key,
        ["request_hash"] = record.RequestHash,
        ["version"] = new BsonInt64(record.Version),
        ["lease"] = record.Lease is { } lease ? new BsonDocument { ["owner"] = lease.Owner, ["expires_at"] = Time(lease.ExpiresAt) } : BsonNull.Value,
        ["answer"] = (BsonValue?)record.Answer ?? BsonNull.Value,
        ["run_id"] = (BsonValue?)record.RunId ?? BsonNull.Value,
        ["retain_until"] = Time(record.RetainUntil),
        ["created_at"] = Time(record.CreatedAt),

        // Rounded up: the server's own TTL sweep may remove a key late, never before the runtime would.
        ["purge_at"] = new BsonDateTime(record.RetainUntil.UtcDateTime.AddTicks(TimeSpan.TicksPerMillisecond - 1)),
    };

    public static IdempotencyRecord Key(BsonDocument document) => new(
        document["tenant_id"].AsString,
        document["key"].AsString,
        document["request_hash"].AsString,
        document["version"].ToInt64(),
        document["lease"] is BsonDocument lease ? new TurnLease(lease["owner"].AsString, Time(lease["expires_at"])) : null,
        document["answer"].IsBsonNull ? null : document["answer"].AsString,
        Time(document["retain_until"]),
        Time(document["created_at"]))
    {
        RunId = document.GetValue("run_id", BsonNull.Value) is BsonString runId ? runId.AsString : null,
    };

    /// <summary>A document in the shared JSON shape, its `id` made the native `_id`.</summary>
    private static BsonDocument Shaped<T>(T value, string id)
    {
        var json = JsonSerializer.SerializeToNode(value, DocumentJson.Options)!.AsObject();
        json.Remove("id");
        var document = new BsonDocument("_id", Id(id));
        foreach (var element in JsonBson.ToBson(json))
        {
            document.Add(element);
        }

        return document;
    }

    private static T Read<T>(BsonDocument document, params string[] queryOnly)
    {
        var json = new JsonObject { ["id"] = document["_id"].AsObjectId.ToString() };
        foreach (var element in document)
        {
            if (element.Name != "_id" && !queryOnly.Contains(element.Name))
            {
                json.Add(element.Name, JsonBson.ToJson(element.Value));
            }
        }

        return json.Deserialize<T>(DocumentJson.Options)!;
    }
}
