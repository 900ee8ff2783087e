using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Storage.Postgres;
using Sessions.Storage.Sqlite;

/// <summary>
/// The store floor: each request commits the next turn of the suite's 3-turn conversation through Sessions' own store
/// (<see cref="IRunStore.CommitTurnAsync"/>: on SQLite its group-committing writer at synchronous=FULL, on PostgreSQL its
/// one-round-trip batch), with the records Sessions stores for that turn: the run document, and a turn record holding
/// the turn's events (3, 5 and 10) and its checkpoint (a snapshot after turn 1, then what <see cref="Checkpoints"/>
/// stores, computed once per turn of the conversation: the same for every conversation). The documents are built from
/// fixed values: nothing is parsed into a turn, stepped, diffed or rendered. What a turn that stores what Sessions must
/// store cannot cost less than here.
/// </summary>
internal sealed class StoreFloor(IRunStore store)
{
    private static readonly string WorkflowId = ObjectId.NewId(DateTimeOffset.UtcNow).ToString();
    private readonly ConcurrentDictionary<string, RunDocument> runs = new();

    /// <summary>What turns 2 and 3 store as their checkpoint, and the bytes owed towards a snapshot after them.</summary>
    private readonly ConcurrentDictionary<int, (RunDocument? Snapshot, JsonObject? Changes, long Owed)> checkpoints = new();

    public static async Task<StoreFloor> OpenSqliteAsync(string file)
    {
        var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = file }));
        await database.InitializeAsync(CancellationToken.None);
        return new StoreFloor(new SqliteRunStore(database));
    }

    public static async Task<StoreFloor> OpenPostgresAsync(string connectionString)
    {
        var database = new PostgresDatabase(Options.Create(new PostgresStoreOptions { ConnectionString = connectionString }));
        await database.InitializeAsync(CancellationToken.None);
        return new StoreFloor(new PostgresRunStore(database));
    }

    /// <summary>Commits the next turn of the conversation whose run is <paramref name="runId"/> (null: a new one); returns the answer.</summary>
    public async Task<byte[]> TurnAsync(string? runId)
    {
        var started = DateTimeOffset.UtcNow;
        var before = runId is null ? null : runs[runId];
        var (run, events, input) = before switch
        {
            null => First(ObjectId.NewId(started).ToString(), started),
            { TurnNumber: 1 } => Second(before, started),
            _ => Third(before, started),
        };
        TurnDocument turn;
        if (before is null)
        {
            turn = Record(run, input, 1, started, run, null);
        }
        else
        {
            // Checkpoints are computed for the first conversation only: every later one stores the same.
            var (snapshot, changes, owed) = checkpoints.GetOrAdd(run.TurnNumber, _ =>
            {
                var (kept, taken, changed) = Checkpoints.Record(before, run);
                return (taken, changed, kept.ChangedBytesSinceSnapshot);
            });
            run = run with { ChangedBytesSinceSnapshot = snapshot is null ? owed : 0 };
            turn = Record(run, input, before.LastSeq + 1, started, snapshot is null ? null : run, (JsonObject?)changes?.DeepClone());
        }

        await store.CommitTurnAsync(new TurnCommit(run, before?.Version ?? 0, events, turn), CancellationToken.None);
        if (run.Status == RunStatus.Completed)
        {
            runs.TryRemove(run.Id, out _);
        }
        else
        {
            runs[run.Id] = run;
        }

        return Encoding.UTF8.GetBytes($$"""{"run_id":"{{run.Id}}","status":"{{run.Status.ToWire()}}","turn_number":{{run.TurnNumber}},"events":[]}""");
    }

    /// <summary>The run_id of an execute request's body, if it has one.</summary>
    public static string? RunIdOf(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("run_id"u8))
            {
                reader.Read();
                return reader.GetString();
            }
        }

        return null;
    }

    private static (RunDocument, RunEvent[], JsonObject) First(string id, DateTimeOffset now)
    {
        var hint = Hint("ask_name", "Your name?");
        var run = new RunDocument
        {
            Id = id, TenantId = "default", WorkflowId = WorkflowId, VersionNumber = 0, Status = RunStatus.WaitingForUserInput, Version = 1,
            TurnNumber = 1, LastSeq = 3, Variables = [], WaitingNodeId = "ask_name", WaitingHint = hint, RunBy = "bench", CreatedAt = now, UpdatedAt = now,
        };
        RunEvent[] events =
        [
            Event(id, 1, 1, RunEventType.StartWorkflow, null, now, new JsonObject { ["workflow_id"] = WorkflowId, ["version_number"] = 0 }),
            Event(id, 2, 1, RunEventType.StartNodeRun, "ask_name", now, []),
            Event(id, 3, 1, RunEventType.BusyWaitForUserMessage, "ask_name", now, new JsonObject { ["prompt"] = "Your name?", ["input"] = new JsonObject { ["kind"] = "text" } }),
        ];
        return (run, events, new JsonObject { ["run_by"] = "bench" });
    }

    private static (RunDocument, RunEvent[], JsonObject) Second(RunDocument before, DateTimeOffset now)
    {
        var hint = Hint("ask_topic", "Hello Ada, what about?");
        var run = before with
        {
            Version = 2, TurnNumber = 2, LastSeq = 8, Variables = new JsonObject { ["last_user_message"] = "Ada", ["name"] = "Ada" },
            Conversation = [Message("user", "Ada")], WaitingNodeId = "ask_topic", WaitingHint = hint, UpdatedAt = now,
        };
        RunEvent[] events =
        [
            Event(run.Id, 4, 2, RunEventType.UserMessages, "ask_name", now, new JsonObject { ["text"] = "Ada" }),
            Event(run.Id, 5, 2, RunEventType.EndNodeRun, "ask_name", now, []),
            Edge(run.Id, 6, 2, "ask_name", "ask_topic", now),
            Event(run.Id, 7, 2, RunEventType.StartNodeRun, "ask_topic", now, []),
            Event(run.Id, 8, 2, RunEventType.BusyWaitForUserMessage, "ask_topic", now, new JsonObject { ["prompt"] = "Hello Ada, what about?", ["input"] = new JsonObject { ["kind"] = "text" } }),
        ];
        return (run, events, new JsonObject { ["user_message"] = "Ada" });
    }

    private static (RunDocument, RunEvent[], JsonObject) Third(RunDocument before, DateTimeOffset now)
    {
        var run = before with
        {
            Status = RunStatus.Completed, Version = 3, TurnNumber = 3, LastSeq = 18,
            Variables = new JsonObject { ["last_user_message"] = "my order", ["name"] = "Ada", ["topic"] = "my order" },
            Conversation = [Message("user", "Ada"), Message("user", "my order"), Message("assistant", "Thanks Ada, noted: my order.")],
            WaitingNodeId = null, WaitingHint = null, Output = "Ada: my order", TerminationSource = TerminationSource.Workflow, UpdatedAt = now, CompletedAt = now,
        };
        RunEvent[] events =
        [
            Event(run.Id, 9, 3, RunEventType.UserMessages, "ask_topic", now, new JsonObject { ["text"] = "my order" }),
            Event(run.Id, 10, 3, RunEventType.EndNodeRun, "ask_topic", now, []),
            Edge(run.Id, 11, 3, "ask_topic", "thanks", now),
            Event(run.Id, 12, 3, RunEventType.StartNodeRun, "thanks", now, []),
            Event(run.Id, 13, 3, RunEventType.SayStatic, "thanks", now, new JsonObject { ["text"] = "Thanks Ada, noted: my order." }),
            Event(run.Id, 14, 3, RunEventType.EndNodeRun, "thanks", now, []),
            Edge(run.Id, 15, 3, "thanks", "done", now),
            Event(run.Id, 16, 3, RunEventType.StartNodeRun, "done", now, []),
            Event(run.Id, 17, 3, RunEventType.EndNodeRun, "done", now, []),
            Event(run.Id, 18, 3, RunEventType.EndWorkflow, null, now, new JsonObject { ["status"] = "completed", ["output"] = "Ada: my order" }),
        ];
        return (run, events, new JsonObject { ["user_message"] = "my order" });
    }

    /// <summary>The turn record as Sessions' committer writes it: completed when the run was last changed.</summary>
    private static TurnDocument Record(RunDocument run, JsonObject input, long firstSeq, DateTimeOffset startedAt, RunDocument? snapshot, JsonObject? changes) =>
        new(run.Id, run.TurnNumber, input, TurnDocument.OutputOf(run), firstSeq, run.LastSeq, startedAt, run.UpdatedAt, snapshot, changes);

    private static JsonObject Hint(string node, string prompt) =>
        new() { ["node_id"] = node, ["prompt"] = prompt, ["input"] = new JsonObject { ["kind"] = "text" } };

    private static JsonObject Message(string role, string text) => new() { ["role"] = role, ["text"] = text };

    private static RunEvent Edge(string runId, long seq, int turn, string from, string to, DateTimeOffset now) =>
        Event(runId, seq, turn, RunEventType.DirectEdge, null, now, new JsonObject { ["from"] = from, ["to"] = to });

    /// <summary>An event of <paramref name="type"/> with the fields it is stored with, read into its typed payload as a store reads it back.</summary>
    private static RunEvent Event(string runId, long seq, int turn, RunEventType type, string? node, DateTimeOffset now, JsonObject fields) =>
        new(runId, seq, turn, node, now, EventCatalogue.ReadFields(type, System.Text.Json.JsonSerializer.SerializeToElement(fields)));
}
