using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// `command: "retry"`: a failed run runs again in place (same run id) from the node that failed, keeping what ran
/// before the failure; optionally on another version, when the failed node exists there. Through HTTP, on every store,
/// with a real HTTP service on loopback that is down (a call that times out) and then up.
/// </summary>
public abstract class RetryTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private LoopbackApi api = null!;

    public async Task InitializeAsync()
    {
        factory = new SessionsFactory(null, await store.SettingsAsync());
        client = factory.CreateClient();
        api = await LoopbackApi.StartAsync("token");
    }

    public async Task DisposeAsync()
    {
        await api.DisposeAsync();
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    private string Definition(string gate, string said) => $$$"""
        { "name": "Checkout", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Item?", "variable": "item", "next": "count" },
          { "id": "count", "type": "set", "assign": { "attempts": "{{add attempts 1}}" }, "next": "call" },
          { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/{{{gate}}}", "timeout_seconds": 1, "retries": 0, "next": "said" },
          { "id": "said", "type": "say", "text": "{{{said}}} {{item}}", "next": "done" },
          { "id": "done", "type": "end", "output": "{{item}}" } ] }
        """;

    [ServerFact]
    public async Task A_failed_run_is_retried_in_place_from_the_failed_node_and_completes()
    {
        var gate = $"down-{Guid.NewGuid():n}";
        var workflow = await client.UploadAsync(Definition(gate, "Ordered"));
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var failed = await client.ReplyAsync(workflow, runId, "book");
        Assert.Equal(("failed", 2), (failed["status"]!.GetValue<string>(), failed["turn_number"]!.GetValue<int>()));
        Assert.True(failed["is_completed"]!.GetValue<bool>());

        // Still down: the retry fails again, at the same node; a run that is not failed cannot be retried.
        var again = await RetryAsync(workflow, runId);
        Assert.Equal(("failed", 3), (again["status"]!.GetValue<string>(), again["turn_number"]!.GetValue<int>()));

        api.Gate(gate).Open();
        var retried = await RetryAsync(workflow, runId);
        Assert.Equal(("completed", 4), (retried["status"]!.GetValue<string>(), retried["turn_number"]!.GetValue<int>()));
        var events = retried["events"]!.AsArray();
        var retry = events[0]!;
        Assert.Equal(("run_retried", "call", 3), (retry["type"]!.GetValue<string>(), retry["node_id"]!.GetValue<string>(), retry["failed_turn"]!.GetValue<int>()));
        Assert.Contains("failed after 1 attempt(s)", retry["error"]!.GetValue<string>());
        Assert.Contains(events, e => e!["text"]?.GetValue<string>() == "Ordered book");

        // What ran before the failure ran once: the counter before the call was not run again by the retries.
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal((1, "book", null), (run["variables"]!["attempts"]!.GetValue<int>(), run["output"]!.GetValue<string>(), run["error"]?.GetValue<string>()));
        Assert.Equal("workflow", run["termination_source"]!.GetValue<string>());

        // Only a failed run is retried: a finished one takes no more turns, and one that waits is not failed.
        var finished = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry" } });
        Assert.Equal("run_terminal", (await finished.ReadObjectAsync())["code"]!.GetValue<string>());
        var waiting = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var refused = await client.ExecuteAsync(workflow, new { run_id = waiting, run_input = new { command = "retry" } });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("run_not_retryable", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task A_retry_may_move_the_run_to_a_version_that_has_the_failed_node()
    {
        var gate = $"moved-{Guid.NewGuid():n}";
        var workflow = await client.UploadAsync(Definition(gate, "Ordered"));
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        Assert.Equal("failed", (await client.ReplyAsync(workflow, runId, "book"))["status"]!.GetValue<string>());

        // Version 1 lacks the failed node: refused, nothing changes. Version 2 has it and words the end differently.
        await client.PostAsync($"/v1/workflows/{workflow}/versions?activate=false", Http.Json("""
            { "name": "Checkout", "start": "ask", "nodes": [ { "id": "ask", "type": "ask", "prompt": "Item?", "variable": "item", "next": "done" }, { "id": "done", "type": "end" } ] }
            """));
        var incompatible = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry", version_number = 1 } });
        Assert.Equal("checkpoint_incompatible", (await incompatible.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry", version_number = 9 } })).StatusCode);
        Assert.Equal(("failed", 2, 0), await StateAsync(runId));

        await client.PostAsync($"/v1/workflows/{workflow}/versions?activate=false", Http.Json(Definition(gate, "Booked")));
        api.Gate(gate).Open();
        var moved = await (await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry", version_number = 2 } })).ReadObjectAsync();
        Assert.Equal("completed", moved["status"]!.GetValue<string>());
        var retry = moved["events"]![0]!;
        Assert.Equal((2, 0), (retry["version_number"]!.GetValue<int>(), retry["from_version_number"]!.GetValue<int>()));
        Assert.Contains(moved["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Booked book");
        Assert.Equal(("completed", 3, 2), await StateAsync(runId));
    }

    private async Task<JsonObject> RetryAsync(string workflow, string runId)
    {
        var response = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadObjectAsync();
    }

    private async Task<(string, int, int)> StateAsync(string runId)
    {
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        return (run["status"]!.GetValue<string>(), run["turn_number"]!.GetValue<int>(), run["version_number"]!.GetValue<int>());
    }
}

public sealed class SqliteRetryTests() : RetryTests(new SqliteStoreUnderTest());

public sealed class PostgresRetryTests() : RetryTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoRetryTests() : RetryTests(new MongoStoreUnderTest());
