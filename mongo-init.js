// Prepares a MongoDB database for Sessions (Sessions:Store=mongodb): its collections, with $jsonSchema validators
// that match the documents the server writes, and every index the server uses. The official `mongo` image runs it
// with mongosh from /docker-entrypoint-initdb.d; by hand: mongosh "mongodb://127.0.0.1:27017/?replicaSet=rs0" mongo-init.js
// The database is SESSIONS_MONGODB_DATABASE, else "sessions". Running it again updates the validators and keeps the data.
// The server creates the same collections and indexes by itself at startup (without validators); a test keeps this
// file and the server's list (src/Sessions.Storage.MongoDb/MongoSchema.cs) the same.

const sessions = db.getSiblingDB((typeof process !== "undefined" && process.env.SESSIONS_MONGODB_DATABASE) || "sessions");

// Times are fixed-width UTC text with 100 ns digits: exact, and in time order when compared as text.
const time = { bsonType: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{7}Z$" };
const integer = { bsonType: ["int", "long"] };
const text = { bsonType: "string" };
const textOrNull = { bsonType: ["string", "null"] };
const objectOrNull = { bsonType: ["object", "null"] };
const timeOrNull = { bsonType: ["string", "null"], pattern: time.pattern };

const eventTypes = [
  "start_workflow", "workflow_warning", "user_messages", "say_static", "busy_wait_for_user_message", "pause_event",
  "start_node_run", "end_node_run", "direct_edge", "conditional_edge", "show_state", "self_loop_edge",
  "self_loop_exhausted", "http_request", "llm", "llm_condition", "condition_timeout", "error", "aborted_looping_risk",
  "cancelled", "end_workflow", "wait_timeout", "timer_fired", "turn_refused", "run_retried", "step_attempt", "steps_kept",
];
const runStatuses = ["not_started", "started", "running", "failed", "completed", "paused", "waiting_for_user_input", "cancelled", "aborted_looping_risk"];

const collections = {
  workflows: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["_id", "tenant_id", "name", "active_version", "latest_version", "created_at", "updated_at"],
        properties: {
          _id: { bsonType: "objectId" },
          tenant_id: text,
          name: text,
          description: textOrNull,
          active_version: integer,
          latest_version: integer,
          created_at: time,
          updated_at: time,
          deleted_at: timeOrNull,
        },
      },
    },
    indexes: [{ keys: { tenant_id: 1, created_at: -1, _id: -1 }, options: { name: "tenant_newest" } }],
  },
  workflow_versions: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["workflow_id", "tenant_id", "version_number", "name", "definition_json", "created_at"],
        properties: {
          workflow_id: text,
          tenant_id: text,
          version_number: integer,
          name: text,
          definition_json: text,
          created_at: time,
        },
      },
    },
    indexes: [{ keys: { workflow_id: 1, version_number: 1 }, options: { name: "workflow_version", unique: true } }],
  },
  workflow_runs: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["_id", "tenant_id", "workflow_id", "version_number", "status", "version", "turn_number", "last_seq", "variables", "created_at", "updated_at"],
        properties: {
          _id: { bsonType: "objectId" },
          tenant_id: text,
          workflow_id: text,
          version_number: integer,
          status: { enum: runStatuses },
          version: { bsonType: "long" },
          lease: {
            bsonType: ["object", "null"],
            required: ["owner", "expires_at"],
            properties: { owner: text, expires_at: text },
          },
          turn_number: integer,
          last_seq: { bsonType: "long" },
          variables: { bsonType: "object" },
          cursor_node_id: textOrNull,
          waiting_node_id: textOrNull,
          waiting_hint: objectOrNull,
          error: textOrNull,
          run_by: textOrNull,
          conversation: { bsonType: ["array", "null"] },
          source_run_id: textOrNull,
          timer: objectOrNull,
          queue: { bsonType: "array" },
          due_at: timeOrNull,
          deleted_at: timeOrNull,
          expires_at: timeOrNull,
          labels: { bsonType: "array", items: text },
          created_at: time,
          updated_at: time,
        },
      },
    },
    indexes: [
      { keys: { tenant_id: 1, created_at: -1, _id: -1 }, options: { name: "tenant_newest" } },
      { keys: { tenant_id: 1, workflow_id: 1, created_at: -1, _id: -1 }, options: { name: "tenant_workflow_newest" } },
      { keys: { status: 1, updated_at: 1 }, options: { name: "status_updated" } },
      { keys: { due_at: 1 }, options: { name: "due" } },
      { keys: { tenant_id: 1, labels: 1 }, options: { name: "tenant_labels" } },
      // The purge's scans: runs deleted, and finished runs past their retention.
      { keys: { deleted_at: 1 }, options: { name: "deleted" } },
      { keys: { expires_at: 1 }, options: { name: "expires" } },
    ],
  },
  run_turns: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["run_id", "tenant_id", "turn_number", "input", "output", "first_seq", "last_seq", "started_at", "completed_at"],
        properties: {
          run_id: text,
          tenant_id: text,
          turn_number: integer,
          input: { bsonType: "object" },
          output: { bsonType: "object" },
          first_seq: integer,
          last_seq: integer,
          state_after: objectOrNull,
          changes: objectOrNull,
          // The turn's events, in order: the i-th of n has seq last_seq - n + 1 + i.
          events: {
            bsonType: "array",
            items: {
              bsonType: "object",
              required: ["type", "node_id", "timestamp", "fields"],
              properties: { type: { enum: eventTypes }, node_id: textOrNull, timestamp: time, fields: { bsonType: "object" } },
            },
          },
        },
      },
    },
    indexes: [
      { keys: { run_id: 1, turn_number: 1 }, options: { name: "run_turn", unique: true } },
      // The turn holding the events after a seq.
      { keys: { run_id: 1, last_seq: 1 }, options: { name: "run_last_seq" } },
    ],
  },
  idempotency_keys: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["tenant_id", "key", "request_hash", "version", "lease", "answer", "retain_until", "created_at", "purge_at"],
        properties: {
          tenant_id: text,
          key: text,
          request_hash: text,
          version: { bsonType: "long" },
          lease: {
            bsonType: ["object", "null"],
            required: ["owner", "expires_at"],
            properties: { owner: text, expires_at: time },
          },
          answer: textOrNull,
          run_id: textOrNull,
          retain_until: time,
          created_at: time,
          purge_at: { bsonType: "date" },
        },
      },
    },
    indexes: [
      { keys: { tenant_id: 1, key: 1 }, options: { name: "tenant_key", unique: true } },
      // Keys past their retention are also removed by the server's own TTL sweep.
      { keys: { purge_at: 1 }, options: { name: "purge_at_ttl", expireAfterSeconds: 0 } },
      // Erasing a run erases the answers stored for it.
      { keys: { run_id: 1 }, options: { name: "run" } },
    ],
  },
  webhook_deliveries: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["_id", "tenant_id", "run_id", "workflow_id", "url", "type", "turn_number", "status", "state", "version", "due_at", "give_up_at", "attempts"],
        properties: {
          _id: { bsonType: "objectId" },
          tenant_id: text,
          run_id: text,
          workflow_id: text,
          url: text,
          secret_name: textOrNull,
          type: { enum: runStatuses.filter((s) => !["not_started", "started", "running"].includes(s)).map((s) => "run." + s) },
          turn_number: integer,
          status: { enum: runStatuses },
          data: textOrNull,
          state: { enum: ["pending", "delivered", "failed"] },
          version: { bsonType: "long" },
          due_at: time,
          claimed_by: textOrNull,
          attempts: { bsonType: "array" },
        },
      },
    },
    indexes: [
      // The due scan, and a run's delivery log.
      { keys: { state: 1, due_at: 1 }, options: { name: "state_due" } },
      { keys: { run_id: 1, _id: 1 }, options: { name: "run_deliveries" } },
    ],
  },
  run_files: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["_id", "tenant_id", "run_id", "name", "content_type", "size", "sha256"],
        properties: {
          _id: { bsonType: "objectId" },
          tenant_id: text,
          run_id: text,
          name: text,
          content_type: text,
          size: integer,
          sha256: { bsonType: "string", pattern: "^[0-9a-f]{64}$" },
        },
      },
    },
    // A run's files, to erase with it.
    indexes: [{ keys: { run_id: 1 }, options: { name: "run_files" } }],
  },
  file_chunks: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["file_id", "chunk", "tenant_id", "created_at", "data"],
        properties: {
          file_id: text,
          chunk: integer,
          tenant_id: text,
          created_at: time,
          data: { bsonType: "binData" },
        },
      },
    },
    indexes: [
      // A file's pieces in order, each once; old pieces, for the sweep of files whose turn never committed.
      { keys: { file_id: 1, chunk: 1 }, options: { name: "file_chunk", unique: true } },
      { keys: { created_at: 1 }, options: { name: "created" } },
    ],
  },
  batches: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["_id", "tenant_id", "workflow_id", "principal", "max_concurrency", "total", "status", "version", "created_at", "updated_at"],
        properties: {
          _id: { bsonType: "objectId" },
          tenant_id: text,
          workflow_id: text,
          principal: text,
          max_concurrency: integer,
          total: integer,
          status: { enum: ["running", "completed", "cancelled"] },
          version: { bsonType: "long" },
          created_at: time,
          updated_at: time,
        },
      },
    },
    // The batches workers look at, oldest first.
    indexes: [{ keys: { status: 1, created_at: 1 }, options: { name: "status_created" } }],
  },
  batch_items: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["batch_id", "tenant_id", "index", "input", "state", "version"],
        properties: {
          batch_id: text,
          tenant_id: text,
          index: integer,
          input: { bsonType: "object" },
          state: { enum: ["pending", "running", "completed", "failed", "waiting", "cancelled"] },
          version: { bsonType: "long" },
          run_id: textOrNull,
        },
      },
    },
    // A batch's items in order, each once.
    indexes: [{ keys: { batch_id: 1, index: 1 }, options: { name: "batch_item", unique: true } }],
  },
  conversation_links: {
    validator: {
      $jsonSchema: {
        bsonType: "object",
        required: ["tenant_id", "protocol", "external_id", "run_id", "created_by", "created_at", "updated_at", "metadata"],
        properties: {
          tenant_id: text,
          protocol: text,
          external_id: text,
          run_id: text,
          created_by: textOrNull,
          created_at: time,
          updated_at: time,
          metadata: { bsonType: "object" },
        },
      },
    },
    // A conversation's name, once per tenant and protocol; a protocol's names, newest first; the names of a run, to erase with it.
    indexes: [
      { keys: { tenant_id: 1, protocol: 1, external_id: 1 }, options: { name: "tenant_protocol_name", unique: true } },
      { keys: { tenant_id: 1, protocol: 1, created_at: -1, external_id: -1 }, options: { name: "tenant_protocol_newest" } },
      { keys: { tenant_id: 1, run_id: 1 }, options: { name: "tenant_run" } },
    ],
  },
};

const existing = sessions.getCollectionNames();
for (const [name, spec] of Object.entries(collections)) {
  if (existing.includes(name)) {
    sessions.runCommand({ collMod: name, validator: spec.validator });
  } else {
    sessions.createCollection(name, { validator: spec.validator });
  }
  for (const index of spec.indexes) {
    sessions.getCollection(name).createIndex(index.keys, index.options);
  }
}
