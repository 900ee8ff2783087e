using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;

namespace Sessions.Api.Tests;

/// <summary>
/// Recorded replays: every model and HTTP call a turn makes is kept with the turn, and a replay answers the same calls
/// from that recording, so a replay of an unchanged version sees what the original saw even with the model server and
/// the called service gone, and a changed request shows as `request_changed` at the turn it first happens.
/// </summary>
public abstract class RecordedReplayTests(StoreUnderTest store) : IAsyncLifetime
{
    private const string OrderAssistant = "66a1f0000000000000000004";
    private const string Token = "orders-TOKEN-31337";

    private LoopbackOpenAi model = null!;
    private LoopbackApi api = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        model = await LoopbackOpenAi.StartAsync();
        api = await LoopbackApi.StartAsync(Token);
        var settings = await store.SettingsAsync();
        factory = new SessionsFactory(null, new(settings)
        {
            ["Sessions:Llm:Configs:default:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:default:Model"] = "big-model",
            ["Sessions:Llm:Configs:cheap:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:cheap:Model"] = "small-model",
            ["Sessions:Secrets:default:orders"] = Token,
            ["Sessions:Replay:MaxRecordedBytes"] = "2048",
        });
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
        await api.DisposeAsync();
        await model.DisposeAsync();
    }

    [ServerFact]
    public async Task A_recorded_replay_of_an_unchanged_version_never_diverges_even_with_the_model_and_the_service_stopped()
    {
        var runId = await OrderConversationAsync();
        var calls = model.Requests.Count;
        await model.DisposeAsync();
        await api.DisposeAsync();

        var report = await ReplayAsync(runId, "{}");
        Assert.False(report["diverged"]!.GetValue<bool>(), report.ToJsonString());
        Assert.Equal(("recorded", "stop"), (report["calls"]!.GetValue<string>(), report["on_changed"]!.GetValue<string>()));
        var turns = report["turns"]!.AsArray();
        Assert.Equal(2, turns.Count);
        Assert.All(turns, t => Assert.Equal(0, t!["calls"]!["live"]!.GetValue<int>()));
        Assert.Equal([1, 2], turns.Select(t => t!["calls"]!["from_recording"]!.GetValue<int>()));
        Assert.Equal("completed", turns[1]!["after"]!["status"]!.GetValue<string>());
        Assert.Contains("Order 123456 is shipped, expected 2026-12-01.", turns[1]!["after"]!["said"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(calls, model.Requests.Count);

        // The same replay with live calls meets the stopped model at once: the recording is what made the difference.
        var live = await ReplayAsync(runId, """{"calls":"live"}""");
        Assert.True(live["diverged"]!.GetValue<bool>());
        Assert.Equal(1, live["first_divergent_turn"]!.GetValue<int>());
        Assert.Equal("live_call", live["turns"]![0]!["cause"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task Each_call_is_kept_with_its_turn_with_the_secret_by_name_and_the_answer_it_got()
    {
        var workflow = await client.UploadAsync($$$"""
            { "name": "Keyed lookup", "start": "lookup", "nodes": [
              { "id": "lookup", "type": "http_request", "url": "{{{api.Address}}}orders/{{order}}?key={{secrets.orders}}",
                "headers": { "Authorization": "Bearer {{secrets.orders}}" }, "response": { "status_text": "status" }, "next": "tell" },
              { "id": "tell", "type": "say", "text": "It is {{status_text}}.", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var start = await client.StartAsync(workflow, new { dynamic_variables = new { order = "123456" } });
        var runId = start["run_id"]!.GetValue<string>();

        var turns = await factory.Services.GetRequiredService<IRunStore>().GetAllTurnsAsync("default", runId, CancellationToken.None);
        var call = Assert.Single(turns.Single(t => t.TurnNumber == 1).Calls!);
        Assert.Equal(("lookup", "http", false, false), (call.NodeId, call.Kind, call.Truncated, call.FromRecording));
        Assert.Equal($"{api.Address}orders/123456?key={{{{secrets.orders}}}}", call.Request["url"]!.GetValue<string>());
        Assert.Equal("Bearer {{secrets.orders}}", call.Request["headers"]!["Authorization"]!.GetValue<string>());
        Assert.Equal(200, call.Response!["status"]!.GetValue<int>());
        Assert.Contains("shipped", call.Response["body"]!.GetValue<string>());
        Assert.DoesNotContain(Token, System.Text.Json.JsonSerializer.Serialize(turns, Runtime.Values.DocumentJson.Options));
    }

    [ServerFact]
    public async Task A_changed_prompt_is_request_changed_at_the_turn_it_first_happens_and_stops_there_or_goes_live()
    {
        var runId = await OrderConversationAsync();
        var changed = await AddVersionAsync(OrderAssistant, d =>
            d["nodes"]![1]!["messages"]![0]!["content"] = "Find the six-digit order number in: {{last_user_message}}\nAnswer only with JSON: {\"order_id\": \"123456\"} or {\"order_id\": null}.");

        var stopped = await ReplayAsync(runId, $$"""{"version_number":{{changed}}}""");
        Assert.True(stopped["diverged"]!.GetValue<bool>());
        Assert.Equal(2, stopped["first_divergent_turn"]!.GetValue<int>());
        var turns = stopped["turns"]!.AsArray();
        Assert.Equal(2, turns.Count);
        Assert.False(turns[0]!["diverged"]!.GetValue<bool>());
        Assert.Equal(("stopped", "request_changed", "definition"),
            (turns[1]!["after"]!["status"]!.GetValue<string>(), turns[1]!["after"]!["code"]!.GetValue<string>(), turns[1]!["cause"]!.GetValue<string>()));
        var stop = stopped["stopped"]!;
        Assert.Equal((2, "request_changed", "extract", 0, "stop"),
            (stop["turn_number"]!.GetValue<int>(), stop["call"]!["kind"]!.GetValue<string>(), stop["call"]!["node_id"]!.GetValue<string>(), stop["call"]!["index"]!.GetValue<int>(), stop["call"]!["followed"]!.GetValue<string>()));
        Assert.StartsWith("Extract the order number", stop["call"]!["recorded"]!["messages"]![0]!["content"]!.GetValue<string>());
        Assert.StartsWith("Find the six-digit", stop["call"]!["sent"]!["messages"]![0]!["content"]!.GetValue<string>());

        // Stopped before the call: the replay run keeps only the turns before it.
        var replay = await (await client.GetAsync($"/v1/runs/{stopped["replay_run_id"]!.GetValue<string>()}")).ReadObjectAsync();
        Assert.Equal(1, replay["turn_number"]!.GetValue<int>());

        var requests = model.Requests.Count;
        var went = await ReplayAsync(runId, $$"""{"version_number":{{changed}},"on_changed":"live"}""");
        Assert.Null(went["stopped"]);
        Assert.Equal(2, went["turns"]!.AsArray().Count);
        Assert.Equal(2, went["first_divergent_turn"]!.GetValue<int>());
        var second = went["turns"]![1]!;
        Assert.Equal(("request_changed", "live", 1, 1), (second["calls"]!["divergences"]![0]!["kind"]!.GetValue<string>(), second["calls"]!["divergences"]![0]!["followed"]!.GetValue<string>(), second["calls"]!["live"]!.GetValue<int>(), second["calls"]!["from_recording"]!.GetValue<int>()));
        Assert.Equal(("completed", "definition"), (second["after"]!["status"]!.GetValue<string>(), second["cause"]!.GetValue<string>()));
        Assert.Equal(requests + 1, model.Requests.Count);
    }

    [ServerFact]
    public async Task A_call_the_source_never_made_follows_the_same_rule_and_an_answer_from_a_live_call_is_put_down_to_it()
    {
        var workflow = await client.UploadAsync($$$"""
            { "name": "Counter", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Go?", "variable": "go", "next": "count" },
              { "id": "count", "type": "http_request", "url": "{{{api.Address}}}count/replay-{{go}}", "response": { "n": "n" }, "next": "tell" },
              { "id": "tell", "type": "say", "text": "n is {{n}}", "next": "ask" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(workflow, runId, "a");
        await client.ReplyAsync(workflow, runId, "a");

        // The service counts: a live replay hears other numbers, and says the difference came from a live call.
        var live = await ReplayAsync(runId, """{"calls":"live"}""");
        Assert.Equal(2, live["first_divergent_turn"]!.GetValue<int>());
        Assert.Equal("live_call", live["turns"]![1]!["cause"]!.GetValue<string>());
        Assert.False((await ReplayAsync(runId, "{}"))["diverged"]!.GetValue<bool>());

        // A version that calls from a new node: not in the recording, so it stops there.
        var added = await AddVersionAsync(workflow, d =>
        {
            d["nodes"]![0]!["next"] = "again";
            d["nodes"]!.AsArray().Add(JsonNode.Parse($$$"""{ "id": "again", "type": "http_request", "url": "{{{api.Address}}}count/other", "next": "count" }"""));
        });
        var report = await ReplayAsync(runId, $$"""{"version_number":{{added}}}""");
        Assert.Equal((2, "call_not_recorded", "again"),
            (report["stopped"]!["turn_number"]!.GetValue<int>(), report["stopped"]!["call"]!["kind"]!.GetValue<string>(), report["stopped"]!["call"]!["node_id"]!.GetValue<string>()));
        Assert.Null(report["stopped"]!["call"]!["recorded"]);
    }

    [ServerFact]
    public async Task An_answer_over_the_bound_is_kept_truncated_and_a_replay_that_needs_it_stops_there()
    {
        var workflow = await client.UploadAsync("""
            { "name": "Echo", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Say something", "variable": "said", "next": "echo" },
              { "id": "echo", "type": "llm", "mode": "say", "llm_config": "default", "include_history": true,
                "messages": [ { "role": "system", "content": "Repeat what you hear." } ], "next": "ask" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(workflow, runId, "short");
        await client.ReplyAsync(workflow, runId, "Tell me a story " + new string('x', 3000));

        var turns = await factory.Services.GetRequiredService<IRunStore>().GetAllTurnsAsync("default", runId, CancellationToken.None);
        Assert.False(Assert.Single(turns.Single(t => t.TurnNumber == 2).Calls!).Truncated);
        var big = Assert.Single(turns.Single(t => t.TurnNumber == 3).Calls!);
        Assert.True(big.Truncated);
        Assert.True(big.Response!["bytes"]!.GetValue<int>() > 3000);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(big.Response["start"]!.GetValue<string>()) <= 2048);

        var report = await ReplayAsync(runId, "{}");
        Assert.Equal((3, "recording_truncated"), (report["stopped"]!["turn_number"]!.GetValue<int>(), report["stopped"]!["call"]!["kind"]!.GetValue<string>()));
        Assert.False(report["turns"]![1]!["diverged"]!.GetValue<bool>());
    }

    [ServerFact]
    public async Task A_fork_asks_a_models_question_again_from_the_recording_when_told_to()
    {
        var runId = (await client.StartAsync(OrderAssistant, new { dynamic_variables = new { orders_api = Orders() } }))["run_id"]!.GetValue<string>();
        var requests = model.Requests.Count;

        var fork = await client.PostAsync($"/v1/runs/{runId}/fork", Http.Json("""{"turn_number":1,"calls":"recorded"}"""));
        Assert.Equal(HttpStatusCode.Created, fork.StatusCode);
        Assert.Equal("Hello! How can I help?", (await fork.ReadObjectAsync())["next_input_hint"]!["prompt"]!.GetValue<string>());
        Assert.Equal(requests, model.Requests.Count);

        var asLive = await client.PostAsync($"/v1/runs/{runId}/fork", Http.Json("""{"turn_number":1}"""));
        Assert.Equal(HttpStatusCode.Created, asLive.StatusCode);
        Assert.Equal(requests + 1, model.Requests.Count);

        var changed = await AddVersionAsync(OrderAssistant, d => d["nodes"]![0]!["messages"]![0]!["content"] = "You are terse.");
        var refused = await client.PostAsync($"/v1/runs/{runId}/fork", Http.Json($$"""{"turn_number":1,"version_number":{{changed}},"calls":"recorded"}"""));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.ReadObjectAsync();
        Assert.Equal(("recorded_call_changed", "chat"), (problem["code"]!.GetValue<string>(), problem["call"]!["node_id"]!.GetValue<string>()));
    }

    [ServerFact]
    public async Task Random_conversations_of_every_sample_replay_identically_from_their_recordings_and_still_do_with_the_servers_gone()
    {
        // A workflow that calls out in every way a turn can: a model that talks, a model that judges a branch, a service
        // that counts (so a call made again would answer otherwise), and parallel steps with a secret.
        var galore = await client.UploadAsync($$$"""
            { "name": "Calls galore", "start": "greet", "variables": { "api": "{{{api.Address}}}" }, "nodes": [
              { "id": "greet", "type": "llm", "mode": "say", "llm_config": "default", "include_history": true, "wait_for_reply": true,
                "messages": [ { "role": "system", "content": "Greet, then help." } ], "variable": "said", "next": "route" },
              { "id": "route", "type": "branch", "default": "count", "cases": [
                { "llm_condition": { "question": "Does the user want a refund?", "llm_config": "cheap" }, "next": "fetch" } ] },
              { "id": "count", "type": "http_request", "url": "{{api}}count/galore", "response": { "n": "n" }, "next": "tell" },
              { "id": "fetch", "type": "parallel", "next": "tell", "steps": [
                { "id": "order", "type": "http_request", "url": "{{api}}orders/123456?key={{secrets.orders}}",
                  "headers": { "Authorization": "Bearer {{secrets.orders}}" }, "response": { "eta": "delivery.eta" } },
                { "id": "tally", "type": "http_request", "url": "{{api}}count/tally", "response": { "n": "n" } } ] },
              { "id": "tell", "type": "say", "text": "Count {{n}}.", "next": "greet" } ] }
            """);
        string[] workflows = [galore, OrderAssistant, SessionsFactory.OrderStatus, "66a1f0000000000000000002", SessionsFactory.AppointmentBooking];
        string[] words = ["yes", "no", "Ada Lovelace", "ada@example.com", "not an email", "123456", "Where is my order 123456?", "I want a refund", "hello", "2026-12-24", "10:30", "654321", "1", "3"];
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var runs = new List<string>();
        foreach (var workflow in workflows)
        {
            for (var conversation = 0; conversation < 4; conversation++)
            {
                var answer = await client.StartAsync(workflow, new { dynamic_variables = new { orders_api = Orders() } });
                var runId = answer["run_id"]!.GetValue<string>();
                for (var turn = 0; turn < 5 && answer["status"]!.GetValue<string>() == "waiting_for_user_input"; turn++)
                {
                    var options = answer["next_input_hint"]?["input"]?["options"]?.AsArray().Select(o => o!["value"]!.ToString()).ToList() ?? [];
                    var pool = workflow == galore ? ["I want a refund", "hello", "what is the count?"] : words;
                    var reply = options.Count > 0 && random.Next(3) > 0 ? options[random.Next(options.Count)] : pool[random.Next(pool.Length)];
                    var response = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = reply } });
                    if (response.IsSuccessStatusCode)
                    {
                        answer = await response.ReadObjectAsync();
                    }
                }

                runs.Add(runId);
            }
        }

        var store = factory.Services.GetRequiredService<IRunStore>();
        var called = new HashSet<string>();
        foreach (var runId in runs)
        {
            called.UnionWith((await store.GetAllTurnsAsync("default", runId, CancellationToken.None)).SelectMany(t => t.Calls ?? []).Select(c => c.NodeId));
        }

        Assert.Subset(called, new HashSet<string> { "greet", "route", "count", "order", "tally", "chat", "extract", "lookup" });
        foreach (var runId in runs)
        {
            var report = await ReplayAsync(runId, "{}");
            Assert.False(report["diverged"]!.GetValue<bool>(), $"seed {seed}, run {runId}: {report.ToJsonString()}");
        }

        await model.DisposeAsync();
        await api.DisposeAsync();
        foreach (var runId in runs)
        {
            var report = await ReplayAsync(runId, "{}");
            Assert.False(report["diverged"]!.GetValue<bool>(), $"seed {seed}, run {runId}, servers stopped: {report.ToJsonString()}");
            Assert.All(report["turns"]!.AsArray(), t => Assert.Equal(0, t!["calls"]!["live"]!.GetValue<int>()));
        }
    }

    [ServerTheory]
    [InlineData("""{"calls":"sometimes"}""", "$.calls", "\"sometimes\"")]
    [InlineData("""{"on_changed":"ignore"}""", "$.on_changed", "\"ignore\"")]
    public async Task A_replay_asked_for_an_unknown_mode_is_refused_naming_it_and_starts_nothing(string body, string path, string named)
    {
        var runId = await OrderConversationAsync();
        var before = (await (await client.GetAsync("/v1/runs?limit=100")).ReadObjectAsync())["total"]!.GetValue<int>();

        var response = await client.PostAsync($"/v1/runs/{runId}/replay", Http.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadObjectAsync();
        Assert.Equal("invalid_request", problem["code"]!.GetValue<string>());
        Assert.Equal(path, problem["errors"]![0]!["path"]!.GetValue<string>());
        Assert.Contains(named, problem["detail"]!.GetValue<string>());
        Assert.Equal(before, (await (await client.GetAsync("/v1/runs?limit=100")).ReadObjectAsync())["total"]!.GetValue<int>());
    }

    /// <summary>The order assistant: a greeting (a model call), then an order number extracted (a model call) and looked up (an HTTP call).</summary>
    private async Task<string> OrderConversationAsync()
    {
        var start = await client.StartAsync(OrderAssistant, new { dynamic_variables = new { orders_api = Orders() } });
        var runId = start["run_id"]!.GetValue<string>();
        var done = await client.ReplyAsync(OrderAssistant, runId, "Where is my order 123456?");
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        return runId;
    }

    private string Orders() => new Uri(api.Address, "/public").ToString().TrimEnd('/');

    private async Task<JsonObject> ReplayAsync(string runId, string body)
    {
        var response = await client.PostAsync($"/v1/runs/{runId}/replay", Http.Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadObjectAsync();
    }

    private async Task<int> AddVersionAsync(string workflowId, Action<JsonObject> change)
    {
        var definition = (await (await client.GetAsync($"/v1/workflows/{workflowId}/versions/0")).ReadObjectAsync())["definition"]!.AsObject();
        change(definition);
        var response = await client.PostAsync($"/v1/workflows/{workflowId}/versions?activate=false", Http.Json(definition.ToJsonString()));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["version_number"]!.GetValue<int>();
    }
}

public sealed class SqliteRecordedReplayTests() : RecordedReplayTests(new SqliteStoreUnderTest());

public sealed class PostgresRecordedReplayTests() : RecordedReplayTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoRecordedReplayTests() : RecordedReplayTests(new MongoStoreUnderTest());
