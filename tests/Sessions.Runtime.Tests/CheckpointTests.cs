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
    public void A_turn_that_changes_nothing_but_its_counters_stores_only_those()
    {
        var before = new RunDocument
        {
            Id = "r", TenantId = "t", WorkflowId = "w", VersionNumber = 0, Status = RunStatus.WaitingForUserInput, Version = 3,
            TurnNumber = 2, LastSeq = 5, Variables = new JsonObject { ["a"] = 1, ["b"] = new JsonObject { ["deep"] = true } },
            Conversation = [new JsonObject { ["role"] = "user", ["text"] = "hi" }],
            CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        };
        var after = before with
        {
            Version = 4,
            TurnNumber = 3,
            Variables = new JsonObject { ["a"] = 2, ["b"] = new JsonObject { ["deep"] = true } },
            Conversation = [new JsonObject { ["role"] = "user", ["text"] = "hi" }, new JsonObject { ["role"] = "assistant", ["text"] = "hello" }],
        };

        var (recorded, snapshot, changes) = Checkpoints.Record(before, after);
        Assert.Null(snapshot);
        Assert.Equal(
            """{"variables":{"set":{"a":2},"removed":[]},"conversation":{"drop":0,"append":[{"role":"assistant","text":"hello"}]},"set":{"version":4,"turn_number":3,"changed_bytes_since_snapshot":CB}}"""
                .Replace("CB", recorded.ChangedBytesSinceSnapshot.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            changes!.ToJsonString());
    }
}
