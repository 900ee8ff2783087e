using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Testing;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Tests;

public class CheckpointTests
{
    private const string Chat = """
        { "name": "chat", "start": "ask", "variables": { "n": 0, "log": "" }, "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Next ({{n}})?", "variable": "reply", "next": "count" },
          { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}", "log": "{{log}}{{n}};" }, "next": "say" },
          { "id": "say", "type": "say", "text": "Noted: {{reply}}", "next": "ask" } ] }
        """;

    [Fact]
    public async Task The_state_after_every_turn_of_a_long_run_is_rebuilt_exactly_from_snapshots_and_changes()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Chat);
        var live = new List<RunDocument> { (await stack.TurnAsync(workflow, null)).Run };
        for (var turn = 2; turn <= 150; turn++)
        {
            live.Add((await stack.TurnAsync(workflow, live[0].Id, $"reply {turn} {new string('y', turn % 5 * 100)}")).Run);
        }

        var turns = await stack.Runs.GetAllTurnsAsync(TestStack.Tenant, live[0].Id, CancellationToken.None);
        var rebuilt = Checkpoints.StatesAfter(turns);
        for (var i = 0; i < live.Count; i++)
        {
            Assert.True(
                JsonNode.DeepEquals(JsonSerializer.SerializeToNode(live[i], DocumentJson.Options), JsonSerializer.SerializeToNode(rebuilt[i + 1], DocumentJson.Options)),
                $"turn {i + 1} differs");
        }

        // Mostly changes, now and then a snapshot: never more than twice the changes, beyond the first snapshot.
        var snapshots = turns.Where(t => t.StateAfter is not null).ToList();
        Assert.Equal(1, snapshots[0].TurnNumber);
        Assert.InRange(snapshots.Count, 2, 40);
        var changeBytes = turns.Sum(t => t.Changes?.ToJsonString().Length ?? 0);
        var snapshotBytes = snapshots.Skip(1).Sum(t => JsonSerializer.Serialize(t.StateAfter, DocumentJson.Options).Length);
        Assert.True(snapshotBytes <= changeBytes + 1, $"snapshots {snapshotBytes} bytes against changes {changeBytes} bytes");
    }

    [Fact]
    public void A_turn_stores_what_it_changed_and_leaves_its_number_status_and_hint_to_its_record()
    {
        var before = new RunDocument
        {
            Id = "r", TenantId = "t", WorkflowId = "w", VersionNumber = 0, Status = RunStatus.WaitingForUserInput, Version = 3,
            TurnNumber = 2, LastSeq = 5, Variables = new JsonObject { ["a"] = 1, ["b"] = new JsonObject { ["deep"] = true } },
            WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "First?" },
            Conversation = [new JsonObject { ["role"] = "user", ["text"] = "hi" }],
            CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        };
        var after = before with
        {
            Version = 4,
            TurnNumber = 3,
            LastSeq = 9,
            Variables = new JsonObject { ["a"] = 2, ["b"] = new JsonObject { ["deep"] = true } },
            WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Second?" },
            Conversation = [new JsonObject { ["role"] = "user", ["text"] = "hi" }, new JsonObject { ["role"] = "assistant", ["text"] = "hello" }],
        };

        var (recorded, snapshot, changes) = Checkpoints.Record(before, after);
        Assert.Null(snapshot);
        Assert.Equal(
            """{"variables":{"set":{"a":2}},"conversation":{"append":[{"role":"assistant","text":"hello"}]},"set":{"version":4,"changed_bytes_since_snapshot":CB}}"""
                .Replace("CB", recorded.ChangedBytesSinceSnapshot.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            changes!.ToJsonString());
        AssertRebuilt(before, recorded, changes);

        // What is removed or dropped is said; a run that stops waiting keeps its hint in the changes (its record shows none).
        var paused = recorded with
        {
            Version = 5,
            TurnNumber = 4,
            LastSeq = 12,
            Status = RunStatus.Paused,
            Variables = new JsonObject { ["a"] = 2 },
            WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Third?" },
            Conversation = [new JsonObject { ["role"] = "assistant", ["text"] = "hello" }],
        };
        var (pausedRecorded, _, pausedChanges) = Checkpoints.Record(recorded, paused);
        Assert.Equal(
            """{"variables":{"removed":["b"]},"conversation":{"drop":1,"append":[]},"set":{"version":5,"waiting_hint":{"node_id":"ask","prompt":"Third?"},"changed_bytes_since_snapshot":CB}}"""
                .Replace("CB", pausedRecorded.ChangedBytesSinceSnapshot.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            pausedChanges!.ToJsonString());
        AssertRebuilt(recorded, pausedRecorded, pausedChanges);
    }

    [Fact]
    public void A_turn_stored_with_its_number_status_and_hint_in_its_changes_reads_back_alike()
    {
        // As turns were stored before their records' own fields were left out of their changes.
        var before = new RunDocument
        {
            Id = "r", TenantId = "t", WorkflowId = "w", VersionNumber = 0, Status = RunStatus.WaitingForUserInput, Version = 1, TurnNumber = 1,
            LastSeq = 3, Variables = [], WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "First?" }, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        };
        var after = before with { Version = 2, TurnNumber = 2, LastSeq = 7, Variables = new JsonObject { ["a"] = 1 }, WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Second?" } };
        var changes = JsonNode.Parse("""
            {"variables":{"set":{"a":1},"removed":[]},
             "set":{"version":2,"turn_number":2,"last_seq":7,"waiting_hint":{"node_id":"ask","prompt":"Second?"},"changed_bytes_since_snapshot":0}}
            """)!.AsObject();
        AssertRebuilt(before, after, changes);
    }

    /// <summary>The state <see cref="Checkpoints.StatesAfter"/> rebuilds from a snapshot of <paramref name="before"/> and a turn storing <paramref name="changes"/> is <paramref name="after"/>.</summary>
    private static void AssertRebuilt(RunDocument before, RunDocument after, JsonObject changes)
    {
        var at = DateTimeOffset.UnixEpoch;
        var turns = new[]
        {
            new TurnDocument(before.Id, before.TurnNumber, [], TurnDocument.OutputOf(before), 1, before.LastSeq, at, at, before),
            new TurnDocument(after.Id, after.TurnNumber, [], TurnDocument.OutputOf(after), before.LastSeq + 1, after.LastSeq, at, at, null, changes),
        };
        Assert.Equal(
            JsonSerializer.Serialize(after, DocumentJson.Options),
            JsonSerializer.Serialize(Checkpoints.StatesAfter(turns)[after.TurnNumber], DocumentJson.Options));
    }
}
