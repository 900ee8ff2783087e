using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Api.Tests;

public sealed class ForkAndReplayTests : IDisposable
{
    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public ForkAndReplayTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task A_fork_continues_from_the_state_after_the_chosen_turn_and_leaves_the_source_alone()
    {
        var source = await CompletedOrderRunAsync();
        var before = await Snapshot(source);

        var response = await client.PostAsync($"/v1/runs/{source}/fork", Http.Json("""{"turn_number":2}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fork = await response.ReadObjectAsync();
        var forkId = fork["run_id"]!.GetValue<string>();
        Assert.Equal($"/v1/runs/{forkId}", response.Headers.Location!.ToString());
        Assert.Equal((source, 2, "waiting_for_user_input", "ask_order"),
            (fork["source_run_id"]!.GetValue<string>(), fork["checkpoint_source_turn_index"]!.GetValue<int>(), fork["status"]!.GetValue<string>(), fork["next_input_hint"]!["node_id"]!.GetValue<string>()));

        var run = await (await client.GetAsync($"/v1/runs/{forkId}")).ReadObjectAsync();
        Assert.Equal(("fork", 0, 1), (run["origin"]!.GetValue<string>(), run["turn_number"]!.GetValue<int>(), run["variables"]!["attempts"]!.GetValue<int>()));
        Assert.Equal("fork", run["turns"]![0]!["input"]!["command"]!.GetValue<string>());

        var next = await client.ReplyAsync(SessionsFactory.OrderStatus, forkId, "123456");
        Assert.Equal(("completed", 1, 1L), (next["status"]!.GetValue<string>(), next["turn_number"]!.GetValue<int>(), next["events"]![0]!["seq"]!.GetValue<long>()));
        Assert.Equal(before, await Snapshot(source));
    }

    [Fact]
    public async Task A_fork_at_every_turn_of_a_long_run_starts_from_exactly_the_state_the_run_had_then()
    {
        // Each turn changes a few variables, grows a text, and says something the conversation keeps (50 messages at
        // most), so turns store changes and, now and then, a snapshot: forks must rebuild both exactly.
        var workflow = await client.UploadAsync("""
            { "name": "Long talk", "start": "ask", "variables": { "count": 0, "seen": "" }, "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Say something ({{count}} so far)", "variable": "said", "next": "note" },
              { "id": "note", "type": "set", "assign": { "count": "{{add count 1}}", "last": "{{said}}", "seen": "{{seen}} {{count}}" }, "next": "echo" },
              { "id": "echo", "type": "say", "text": "You said {{said}}", "next": "ask" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var live = new List<JsonNode> { (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["variables"]!.DeepClone() };
        for (var turn = 2; turn <= 60; turn++)
        {
            await client.ReplyAsync(workflow, runId, $"message {turn} " + new string('x', turn % 7 * 40));
            live.Add((await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["variables"]!.DeepClone());
        }

        for (var turn = 1; turn <= 60; turn++)
        {
            var response = await client.PostAsync($"/v1/runs/{runId}/fork", Http.Json($$"""{"turn_number":{{turn}}}"""));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var forkId = (await response.ReadObjectAsync())["run_id"]!.GetValue<string>();
            var fork = await (await client.GetAsync($"/v1/runs/{forkId}")).ReadObjectAsync();
            Assert.True(JsonNode.DeepEquals(live[turn - 1], fork["variables"]), $"turn {turn}: {live[turn - 1].ToJsonString()} != {fork["variables"]!.ToJsonString()}");
        }
    }

    [Fact]
    public async Task A_fork_on_another_version_asks_as_that_version_words_it()
    {
        var source = await CompletedOrderRunAsync();
        var v1 = await AddVersionAsync(d =>
        {
            d["nodes"]![1]!["prompt"] = "Order number, please?";
            d["nodes"]![3]!["text"] = "Order {{order_id}} is on its way.";
        });

        var fork = await (await client.PostAsync($"/v1/runs/{source}/fork", Http.Json($$"""{"turn_number":1,"version_number":{{v1}}}"""))).ReadObjectAsync();
        Assert.Equal((v1, "Order number, please?"), (fork["version_number"]!.GetValue<int>(), fork["next_input_hint"]!["prompt"]!.GetValue<string>()));
        var done = await client.ReplyAsync(SessionsFactory.OrderStatus, fork["run_id"]!.GetValue<string>(), "123456");
        Assert.Contains(done["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Order 123456 is on its way.");
    }

    [Theory]
    [InlineData("""{"turn_number":3}""", 409, "checkpoint_terminal")]
    [InlineData("""{"turn_number":9}""", 404, "turn_not_found")]
    [InlineData("""{"turn_number":"2"}""", 400, "invalid_request")]
    [InlineData("""{}""", 400, "invalid_request")]
    [InlineData("""{"turn_number":1,"version_number":-1}""", 400, "invalid_version_number")]
    [InlineData("""{"turn_number":1,"version_number":5}""", 404, "version_not_found")]
    public async Task Bad_forks_are_refused(string body, int status, string code)
    {
        var source = await CompletedOrderRunAsync();
        var response = await client.PostAsync($"/v1/runs/{source}/fork", Http.Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_fork_onto_a_version_without_the_waiting_node_is_refused()
    {
        var source = await CompletedOrderRunAsync();
        var v1 = await AddVersionAsync(d =>
        {
            d["nodes"]![1]!["id"] = "ask_number";
            d["nodes"]![0]!["next"] = "ask_number";
            d["nodes"]![4]!["next"] = "ask_number";
        });
        var response = await client.PostAsync($"/v1/runs/{source}/fork", Http.Json($$"""{"turn_number":1,"version_number":{{v1}}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.ReadObjectAsync();
        Assert.Equal(("checkpoint_incompatible", "ask_order"), (problem["code"]!.GetValue<string>(), problem["node_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Replay_on_the_same_version_does_not_diverge()
    {
        var source = await CompletedOrderRunAsync();
        var response = await client.PostAsync($"/v1/runs/{source}/replay", Http.Json("{}"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var report = await response.ReadObjectAsync();
        Assert.False(report["diverged"]!.GetValue<bool>());
        Assert.Null(report["first_divergent_turn"]);
        Assert.Equal([1, 2, 3], report["turns"]!.AsArray().Select(t => t!["turn_number"]!.GetValue<int>()));
        var replayId = report["replay_run_id"]!.GetValue<string>();
        var replay = await (await client.GetAsync($"/v1/runs/{replayId}")).ReadObjectAsync();
        Assert.Equal(("completed", "replay", source, "Ada"), (replay["status"]!.GetValue<string>(), replay["origin"]!.GetValue<string>(), replay["source_run_id"]!.GetValue<string>(), replay["variables"]!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Replay_against_a_changed_version_reports_the_exact_divergence()
    {
        var source = await CompletedOrderRunAsync();
        var v1 = await AddVersionAsync(d => d["nodes"]![3]!["text"] = "Order {{order_id}} is on its way.");

        var report = await (await client.PostAsync($"/v1/runs/{source}/replay", Http.Json($$"""{"version_number":{{v1}}}"""))).ReadObjectAsync();
        Assert.Equal((true, 3, v1, 0), (report["diverged"]!.GetValue<bool>(), report["first_divergent_turn"]!.GetValue<int>(), report["version_number"]!.GetValue<int>(), report["source_version_number"]!.GetValue<int>()));
        var turns = report["turns"]!.AsArray();
        Assert.Equal([false, false, true], turns.Select(t => t!["diverged"]!.GetValue<bool>()));
        Assert.Equal(
            """[{"field":"said","before":["Order 123456 has shipped."],"after":["Order 123456 is on its way."]}]""",
            turns[2]!["differences"]!.ToJsonString());
    }

    [Fact]
    public async Task Replay_reports_inputs_the_new_version_refuses_and_goes_on()
    {
        var source = await CompletedOrderRunAsync();
        var v1 = await AddVersionAsync(d =>
        {
            d["nodes"]![1]!["input"]!["pattern"] = "^[0-9]{7}$";
            d["nodes"]![1]!["input"]!["max_length"] = 7;
        });

        var report = await (await client.PostAsync($"/v1/runs/{source}/replay", Http.Json($$"""{"version_number":{{v1}}}"""))).ReadObjectAsync();
        var turns = report["turns"]!.AsArray();
        Assert.Equal(1, report["first_divergent_turn"]!.GetValue<int>());
        Assert.Equal("""{"field":"next_input_hint","before":{"node_id":"ask_order","prompt":"Your order number?","input":{"kind":"text","pattern":"^[0-9]{6}$","max_length":6}},"after":{"node_id":"ask_order","prompt":"Your order number?","input":{"kind":"text","pattern":"^[0-9]{7}$","max_length":7}}}""",
            turns[0]!["differences"]!.AsArray().Single()!.ToJsonString());
        Assert.Equal("""[{"field":"status","before":"waiting_for_user_input","after":"rejected: invalid_reply"}]""", turns[1]!["differences"]!.ToJsonString());
        Assert.Equal("""[{"field":"status","before":"completed","after":"rejected: invalid_reply"}]""", turns[2]!["differences"]!.ToJsonString());
        var replay = await (await client.GetAsync($"/v1/runs/{report["replay_run_id"]}")).ReadObjectAsync();
        Assert.Equal(("waiting_for_user_input", 1), (replay["status"]!.GetValue<string>(), replay["turn_number"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Replaying_a_support_conversation_with_a_pause_and_a_stop_matches_itself()
    {
        var runId = (await client.StartAsync(SessionsFactory.AppointmentBooking))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.AppointmentBooking, runId, "vaccine");
        await client.ReplyAsync(SessionsFactory.AppointmentBooking, runId, "2026-12-24");
        await client.ReplyAsync(SessionsFactory.AppointmentBooking, runId, "Morning");
        await client.ExecuteAsync(SessionsFactory.AppointmentBooking, new { run_id = runId, run_input = new { command = "resume" } });
        await client.ExecuteAsync(SessionsFactory.AppointmentBooking, new { run_id = runId, run_input = new { command = "stop" } });

        var report = await (await client.PostAsync($"/v1/runs/{runId}/replay", null)).ReadObjectAsync();
        Assert.False(report["diverged"]!.GetValue<bool>(), report.ToJsonString());
        Assert.Equal(6, report["turns"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("66a1f00000000000000000ff", "{}", 404, "run_not_found")]
    [InlineData(null, """{"version_number":9}""", 404, "version_not_found")]
    [InlineData(null, """{"version_number":"1"}""", 400, "invalid_version_number")]
    [InlineData(null, "[]", 400, "invalid_request")]
    public async Task Bad_replays_are_refused(string? runId, string body, int status, string code)
    {
        runId ??= await CompletedOrderRunAsync();
        var response = await client.PostAsync($"/v1/runs/{runId}/replay", Http.Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_fork_cannot_be_replayed()
    {
        var source = await CompletedOrderRunAsync();
        var fork = (await (await client.PostAsync($"/v1/runs/{source}/fork", Http.Json("""{"turn_number":1}"""))).ReadObjectAsync())["run_id"]!.GetValue<string>();
        var response = await client.PostAsync($"/v1/runs/{fork}/replay", Http.Json("{}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("replay_unsupported", (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    /// <summary>Order status: greeted Ada, one unknown order number, then the right one. Three turns.</summary>
    private async Task<string> CompletedOrderRunAsync()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus, new { dynamic_variables = new { name = "Ada" } }))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "654321");
        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "123456");
        return runId;
    }

    /// <summary>Adds an inactive version of order status: version 0 with a change.</summary>
    private async Task<int> AddVersionAsync(Action<JsonObject> change)
    {
        var definition = (await (await client.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/versions/0")).ReadObjectAsync())["definition"]!.AsObject();
        change(definition);
        var added = await client.PostAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/versions?activate=false", Http.Json(definition.ToJsonString()));
        Assert.True(added.StatusCode == HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        return (await added.ReadObjectAsync())["version_number"]!.GetValue<int>();
    }

    private async Task<string> Snapshot(string runId)
    {
        var store = factory.Services.GetRequiredService<IRunStore>();
        var run = await store.GetAsync("default", runId, default);
        var events = await store.GetEventsAsync("default", runId, 0, 10_000, default);
        var turns = await store.GetAllTurnsAsync("default", runId, default);
        return System.Text.Json.JsonSerializer.Serialize(new { run, events, turns }, DocumentJson.Options);
    }
}
