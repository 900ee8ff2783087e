using Sessions.Runtime.Runs;
using MongoDB.Bson;

namespace Sessions.Storage.MongoDb;

/// <summary>One index the provider needs, as `createIndex(keys, { name, unique, expireAfterSeconds })` declares it.</summary>
public sealed record MongoIndex(string Collection, string Name, BsonDocument Keys, bool Unique = false, int? ExpireAfterSeconds = null);

/// <summary>
/// The collections and indexes of the store, declared once: the provider creates them at startup, and a test holds
/// `mongo-init.js` at the repository root to the same list.
/// </summary>
public static class MongoSchema
{
    public const string Workflows = "workflows";
    public const string WorkflowVersions = "workflow_versions";
    public const string Runs = "workflow_runs";
    /// <summary>Where events were kept before one record per turn: read once by the upgrade (<see cref="MongoEventsUpgrade"/>), then dropped.</summary>
    public const string EarlierEvents = "run_events";
    public const string Turns = "run_turns";
    public const string IdempotencyKeys = "idempotency_keys";
    public const string WebhookDeliveries = "webhook_deliveries";
    public const string RunFiles = "run_files";
    public const string FileChunks = "file_chunks";
    public const string Batches = "batches";
    public const string BatchItems = "batch_items";
    public const string ConversationLinks = "conversation_links";

    public static readonly IReadOnlyList<string> Collections =
        [Workflows, WorkflowVersions, Runs, Turns, IdempotencyKeys, WebhookDeliveries, RunFiles, FileChunks, Batches, BatchItems, ConversationLinks];

    public static readonly IReadOnlyList<MongoIndex> Indexes =
    [
        // A tenant's workflows, newest first.
        new(Workflows, "tenant_newest", new BsonDocument { ["tenant_id"] = 1, ["created_at"] = -1, ["_id"] = -1 }),
        new(WorkflowVersions, "workflow_version", new BsonDocument { ["workflow_id"] = 1, ["version_number"] = 1 }, Unique: true),

        // Run lists, newest first, for the tenant and for one workflow; the reaper's scan by status and age; due timers.
        new(Runs, "tenant_newest", new BsonDocument { ["tenant_id"] = 1, ["created_at"] = -1, ["_id"] = -1 }),
        new(Runs, "tenant_workflow_newest", new BsonDocument { ["tenant_id"] = 1, ["workflow_id"] = 1, ["created_at"] = -1, ["_id"] = -1 }),
        new(Runs, "status_updated", new BsonDocument { ["status"] = 1, ["updated_at"] = 1 }),
        new(Runs, "due", new BsonDocument { ["due_at"] = 1 }),
        new(Runs, "tenant_labels", new BsonDocument { ["tenant_id"] = 1, ["labels"] = 1 }),

        // The purge's scans: runs deleted, and finished runs past their retention.
        new(Runs, "deleted", new BsonDocument { ["deleted_at"] = 1 }),
        new(Runs, "expires", new BsonDocument { ["expires_at"] = 1 }),

        // A run's turns are each numbered once (a second commit of the same number fails whole); the turn holding the
        // events after a seq is found by the turns' last seqs.
        new(Turns, "run_turn", new BsonDocument { ["run_id"] = 1, ["turn_number"] = 1 }, Unique: true),
        new(Turns, "run_last_seq", new BsonDocument { ["run_id"] = 1, ["last_seq"] = 1 }),

        new(IdempotencyKeys, "tenant_key", new BsonDocument { ["tenant_id"] = 1, ["key"] = 1 }, Unique: true),
        new(IdempotencyKeys, "purge_at_ttl", new BsonDocument { ["purge_at"] = 1 }, ExpireAfterSeconds: 0),

        // Erasing a run erases the answers stored for it.
        new(IdempotencyKeys, "run", new BsonDocument { ["run_id"] = 1 }),

        // Webhook deliveries: the due scan, and a run's delivery log.
        new(WebhookDeliveries, "state_due", new BsonDocument { ["state"] = 1, ["due_at"] = 1 }),
        new(WebhookDeliveries, "run_deliveries", new BsonDocument { ["run_id"] = 1, ["_id"] = 1 }),

        // Files: a run's, to erase with it; a file's pieces in order, each once; old pieces, for the orphan sweep.
        new(RunFiles, "run_files", new BsonDocument { ["run_id"] = 1 }),
        new(FileChunks, "file_chunk", new BsonDocument { ["file_id"] = 1, ["chunk"] = 1 }, Unique: true),
        new(FileChunks, "created", new BsonDocument { ["created_at"] = 1 }),

        // Batches the workers look at, oldest first; a batch's items in order, each once.
        new(Batches, "status_created", new BsonDocument { ["status"] = 1, ["created_at"] = 1 }),
        new(BatchItems, "batch_item", new BsonDocument { ["batch_id"] = 1, ["index"] = 1 }, Unique: true),

        // A conversation's name, once per tenant and protocol; a protocol's names, newest first; the names of a run, to erase with it.
        new(ConversationLinks, "tenant_protocol_name", new BsonDocument { ["tenant_id"] = 1, ["protocol"] = 1, ["external_id"] = 1 }, Unique: true),
        new(ConversationLinks, "tenant_protocol_newest", new BsonDocument { ["tenant_id"] = 1, ["protocol"] = 1, ["created_at"] = -1, ["external_id"] = -1 }),
        new(ConversationLinks, "tenant_run", new BsonDocument { ["tenant_id"] = 1, ["run_id"] = 1 }),
    ];
}
