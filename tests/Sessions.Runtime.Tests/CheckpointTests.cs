using System.Text;
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

        // Mostly changes, now and then a snapshot: about twice the changes at most, beyond the first snapshot. A snapshot is
        // due once the changes since the last one, with the changes its own turn would have stored, outweigh it; those
        // last are not stored, so each snapshot may outweigh the stored changes by up to a turn's changes.
        var snapshots = turns.Where(t => t.StateAfter is not null).ToList();
        Assert.Equal(1, snapshots[0].TurnNumber);
        Assert.InRange(snapshots.Count, 2, 40);
        var changeBytes = turns.Sum(t => t.Changes?.ToJsonString().Length ?? 0);
        var largestChanges = turns.Max(t => t.Changes?.ToJsonString().Length ?? 0);
        var snapshotBytes = snapshots.Skip(1).Sum(t => JsonSerializer.Serialize(t.StateAfter, DocumentJson.Options).Length);
        Assert.True(
            snapshotBytes <= changeBytes + (snapshots.Count - 1) * largestChanges,
            $"snapshots {snapshotBytes} bytes against changes {changeBytes} bytes (at most {largestChanges} a turn)");
    }

    [Fact]
    public void A_turn_stores_what_it_changed_and_leaves_its_number_version_status_time_and_hint_to_its_record()
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
            UpdatedAt = DateTimeOffset.UnixEpoch.AddTicks(12_345_678),
            TurnNumber = 3,
            LastSeq = 9,
            Variables = new JsonObject { ["a"] = 2, ["b"] = new JsonObject { ["deep"] = true } },
            WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Second?" },
            Conversation = [new JsonObject { ["role"] = "user", ["text"] = "hi" }, new JsonObject { ["role"] = "assistant", ["text"] = "hello" }],
        };

        var (recorded, snapshot, changes) = Checkpoints.Record(before, after);
        Assert.Null(snapshot);
        Assert.Equal(
            """{"variables":{"set":{"a":2}},"conversation":{"append":[{"role":"assistant","text":"hello"}]}}""",
            changes!.ToJsonString());

        // The bytes owed towards the next snapshot are the changes' own size, added up again when rebuilding.
        Assert.Equal(Encoding.UTF8.GetByteCount(changes.ToJsonString()), recorded.ChangedBytesSinceSnapshot);
        AssertRebuilt(before, recorded, changes);

        // What is removed or dropped is said; a run that stops waiting keeps its hint in the changes (its record shows none),
        // and one written between its turns (a lease taken, say) keeps its version.
        var paused = recorded with
        {
            Version = 6,
            UpdatedAt = DateTimeOffset.UnixEpoch.AddSeconds(2),
            TurnNumber = 4,
            LastSeq = 12,
            Status = RunStatus.Paused,
            Variables = new JsonObject { ["a"] = 2 },
            WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Third?" },
            Conversation = [new JsonObject { ["role"] = "assistant", ["text"] = "hello" }],
        };
        var (pausedRecorded, _, pausedChanges) = Checkpoints.Record(recorded, paused);
        Assert.Equal(
            """{"variables":{"removed":["b"]},"conversation":{"drop":1,"append":[]},"set":{"version":6,"waiting_hint":{"node_id":"ask","prompt":"Third?"}}}""",
            pausedChanges!.ToJsonString());
        Assert.Equal(recorded.ChangedBytesSinceSnapshot + Encoding.UTF8.GetByteCount(pausedChanges.ToJsonString()), pausedRecorded.ChangedBytesSinceSnapshot);
        AssertRebuilt(recorded, pausedRecorded, pausedChanges);
    }

    [Fact]
    public void A_turn_stored_with_its_number_status_time_hint_and_counter_in_its_changes_reads_back_alike()
    {
        // As turns were stored before their records' own fields were left out of their changes: then the record's
        // completed_at was read from the clock after the run's updated_at, so the changes' time is the one kept.
        var before = new RunDocument
        {
            Id = "r", TenantId = "t", WorkflowId = "w", VersionNumber = 0, Status = RunStatus.WaitingForUserInput, Version = 1, TurnNumber = 1,
            LastSeq = 3, Variables = [], WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "First?" }, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        };
        var after = before with
        {
            Version = 2, TurnNumber = 2, LastSeq = 7, Variables = new JsonObject { ["a"] = 1 }, WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "Second?" },
            UpdatedAt = DateTimeOffset.Parse("2026-12-07T21:48:43.690456+00:00", System.Globalization.CultureInfo.InvariantCulture), ChangedBytesSinceSnapshot = 443,
        };
        var changes = JsonNode.Parse("""
            {"variables":{"set":{"a":1},"removed":[]},
             "set":{"version":2,"turn_number":2,"last_seq":7,"waiting_hint":{"node_id":"ask","prompt":"Second?"},"updated_at":"2026-12-07T21:48:43.690456+00:00","changed_bytes_since_snapshot":443}}
            """)!.AsObject();
        AssertRebuilt(before, after, changes, completedAt: after.UpdatedAt.AddMilliseconds(3));
    }

    /// <summary>The state <see cref="Checkpoints.StatesAfter"/> rebuilds from a snapshot of <paramref name="before"/> and a turn storing <paramref name="changes"/> is <paramref name="after"/>.</summary>
    /// <param name="completedAt">The turn record's time: the committer writes the run's <see cref="RunDocument.UpdatedAt"/>.</param>
    private static void AssertRebuilt(RunDocument before, RunDocument after, JsonObject changes, DateTimeOffset? completedAt = null)
    {
        var at = DateTimeOffset.UnixEpoch;
        var turns = new[]
        {
            new TurnDocument(before.Id, before.TurnNumber, [], TurnDocument.OutputOf(before), 1, before.LastSeq, at, before.UpdatedAt, before),
            new TurnDocument(after.Id, after.TurnNumber, [], TurnDocument.OutputOf(after), before.LastSeq + 1, after.LastSeq, at, completedAt ?? after.UpdatedAt, null, changes),
        };
        Assert.Equal(
            JsonSerializer.Serialize(after, DocumentJson.Options),
            JsonSerializer.Serialize(Checkpoints.StatesAfter(turns)[after.TurnNumber], DocumentJson.Options));
    }
}
