using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

public sealed class LlmNodeTests : IAsyncLifetime
{
    private const string ApiKey = "sk-loopback-KEY-90210";

    private LoopbackOpenAi model = null!;
    private LoopbackApi orders = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        model = await LoopbackOpenAi.StartAsync();
        orders = await LoopbackApi.StartAsync("unused");
        factory = new SessionsFactory(null, new()
        {
            ["Sessions:Llm:Configs:default:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:default:Model"] = "big-model",
            ["Sessions:Llm:Configs:cheap:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:cheap:Model"] = "small-model",
            ["Sessions:Llm:Configs:keyed:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:keyed:Model"] = "big-model",
            ["Sessions:Llm:Configs:keyed:ApiKeySecret"] = "openai",
            ["Sessions:Llm:Configs:flaky:BaseUrl"] = model.BrokenBaseUrl,
            ["Sessions:Llm:Configs:flaky:Model"] = "broken-model",
            ["Sessions:Llm:Configs:flaky:Retries"] = "1",
            ["Sessions:Llm:Configs:flaky:RetryDelaySeconds"] = "0.01",
            ["Sessions:Llm:Configs:flaky:Fallback"] = "cheap",
            ["Sessions:Llm:Configs:impatient:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:impatient:Model"] = "big-model",
            ["Sessions:Llm:Configs:impatient:TimeoutSeconds"] = "0.3",
            ["Sessions:Llm:Configs:impatient:Retries"] = "0",
            ["Sessions:Secrets:default:openai"] = ApiKey,
        });
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        factory.Dispose();
        await orders.DisposeAsync();
        await model.DisposeAsync();
    }

    [Fact]
    public async Task The_order_assistant_sample_talks_extracts_with_a_cheap_model_and_looks_the_order_up()
    {
        const string sample = "66a1f0000000000000000004";
        var start = await client.StartAsync(sample, new { dynamic_variables = new { orders_api = new Uri(orders.Address, "/public").ToString().TrimEnd('/') } });
        var runId = start["run_id"]!.GetValue<string>();
        Assert.Equal("waiting_for_user_input", start["status"]!.GetValue<string>());
        var said = Event(start, "llm");
        Assert.Equal(("say", "big-model", "127.0.0.1", false, "Hello! How can I help?"),
            (said["mode"]!.GetValue<string>(), said["model"]!.GetValue<string>(), said["provider"]!.GetValue<string>(), said["fallback_used"]!.GetValue<bool>(), said["text"]!.GetValue<string>()));
        Assert.True(said["input_tokens"]!.GetValue<int>() > 0 && said["output_tokens"]!.GetValue<int>() == 5);
        Assert.Equal("Hello! How can I help?", start["next_input_hint"]!["prompt"]!.GetValue<string>());

        var done = await client.ReplyAsync(sample, runId, "Where is my order 123456?");
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var worker = Event(done, "llm");
        Assert.Equal(("worker", "small-model"), (worker["mode"]!.GetValue<string>(), worker["model"]!.GetValue<string>()));
        Assert.Contains(done["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Order 123456 is shipped, expected 2026-12-01.");

        // The extraction prompt carried the user's words; the first call had no key (local server).
        Assert.Contains(model.Requests, r => r.Body.ToJsonString().Contains("Extract the order number") && r.Body.ToJsonString().Contains("123456"));
        Assert.All(model.Requests, r => Assert.Null(r.Authorization));

        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        var usage = run["llm_token_usage"]!;
        Assert.Equal(2, usage["calls"]!.GetValue<int>());
        Assert.Equal(said["input_tokens"]!.GetValue<int>() + worker["input_tokens"]!.GetValue<int>(), usage["input_tokens"]!.GetValue<int>());
        Assert.Equal(1, usage["by_model"]!["small-model"]!["calls"]!.GetValue<int>());
        var latency = run["llm_latency_stats"]!;
        Assert.Equal(2, latency["calls"]!.GetValue<int>());
        Assert.True(latency["by_model"]!["big-model"]!["max_ms"]!.GetValue<double>() > 0);
    }

    [Fact]
    public async Task A_chat_loop_sends_the_conversation_so_far_and_stores_each_reply()
    {
        var workflow = await UploadAsync("""
            { "name": "Loop chat", "start": "chat", "nodes": [
              { "id": "chat", "type": "llm", "mode": "say", "llm_config": "default", "messages": [ { "role": "system", "content": "Be brief." } ],
                "include_history": true, "wait_for_reply": true, "variable": "answer", "next": "chat" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(workflow, runId, "trains please");
        var third = await client.ReplyAsync(workflow, runId, "and buses");

        var last = model.Requests.Last().Body["messages"]!.AsArray().Select(m => $"{m!["role"]}: {m["content"]}").ToList();
        Assert.Equal(
            ["system: Be brief.", "assistant: Hello! How can I help?", "user: trains please", "assistant: You said: trains please", "user: and buses"],
            last);
        Assert.Equal("You said: and buses", third["next_input_hint"]!["prompt"]!.GetValue<string>());
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal("and buses", run["variables"]!["answer"]!.GetValue<string>());
    }

    [Fact]
    public async Task On_the_stream_a_say_reply_arrives_as_deltas_before_its_llm_event()
    {
        var workflow = await UploadAsync("""
            { "name": "Chat", "start": "chat", "nodes": [
              { "id": "chat", "type": "llm", "mode": "say", "llm_config": "default", "messages": [ { "role": "user", "content": "tell me about {{topic}}" } ], "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        using var response = await client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflow}/execute/stream") { Content = Http.Json("""{"run_input":{"dynamic_variables":{"topic":"trains"}}}""") },
            HttpCompletionOption.ResponseHeadersRead);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
        var deltas = new List<string>();
        SseReader.Message? message;
        while ((message = await sse.NextAsync())!.Event != "result")
        {
            if (message.Event == "llm_delta")
            {
                Assert.Null(message.Id);
                Assert.Equal("chat", message.Json["node_id"]!.GetValue<string>());
                deltas.Add(message.Json["text"]!.GetValue<string>());
            }
            else if (message.Event is null && message.Json["type"]!.GetValue<string>() == "llm")
            {
                Assert.True(deltas.Count >= 3);
                Assert.Equal(message.Json["text"]!.GetValue<string>(), string.Concat(deltas));
            }
        }

        Assert.Equal("You said: tell me about trains", string.Concat(deltas));
        Assert.Equal("completed", message.Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Transient_errors_are_retried_then_the_fallback_answers_and_a_timeout_fails_the_run()
    {
        var retried = await UploadAsync(Worker("default", "[429-once] order 654321"));
        var answer = await client.StartAsync(retried);
        Assert.Equal(("completed", "654321"), (answer["status"]!.GetValue<string>(), answer["events"]!.AsArray()[^1]!["output"]!.GetValue<string>()));
        Assert.Equal(2, model.Requests.Count(r => r.Body.ToJsonString().Contains("[429-once]")));

        var fallback = await client.StartAsync(await UploadAsync(Worker("flaky", "order 111222")));
        var call = Event(fallback, "llm");
        Assert.Equal((true, "small-model"), (call["fallback_used"]!.GetValue<bool>(), call["model"]!.GetValue<string>()));

        var slow = await client.StartAsync(await UploadAsync(Worker("impatient", "[slow] order 333444")));
        Assert.Equal("failed", slow["status"]!.GetValue<string>());
        Assert.Contains("llm", slow["error"]!.GetValue<string>());

        var broken = await client.StartAsync(await UploadAsync(Worker("default", "[500] order 555666")));
        Assert.Equal("failed", broken["status"]!.GetValue<string>());
        Assert.Equal(3, model.Requests.Count(r => r.Body.ToJsonString().Contains("[500]")));

        // One warning line for operators, naming run and node; the stack trace only at debug.
        var runId = broken["run_id"]!.GetValue<string>();
        var warning = Assert.Single(factory.Logs, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains($"of run {runId} failed", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", warning);
        Assert.Contains(factory.Logs, line => line.StartsWith("Debug", StringComparison.Ordinal) && line.Contains(runId, StringComparison.Ordinal) && line.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_branch_can_ask_a_model_a_yes_or_no_question_about_the_conversation()
    {
        var workflow = await UploadAsync("""
            { "name": "Triage", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "How can I help?", "variable": "request", "next": "route" },
              { "id": "route", "type": "branch",
                "cases": [ { "llm_condition": { "question": "Does the user want a refund?", "llm_config": "cheap" }, "next": "refund" } ],
                "default": "other" },
              { "id": "refund", "type": "end", "output": "refund" },
              { "id": "other", "type": "end", "output": "other" } ] }
            """);
        var refund = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var yes = await client.ReplyAsync(workflow, refund, "I want a refund for my broken kettle");
        var asked = Event(yes, "llm_condition");
        Assert.Equal(("Does the user want a refund?", "yes", "small-model"), (asked["question"]!.GetValue<string>(), asked["answer"]!.GetValue<string>(), asked["model"]!.GetValue<string>()));
        Assert.Equal("refund", yes["events"]!.AsArray()[^1]!["output"]!.GetValue<string>());
        Assert.Equal("Does the user want a refund?", Event(yes, "conditional_edge")["case"]!["llm_condition"]!.GetValue<string>());

        var other = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var no = await client.ReplyAsync(workflow, other, "What are your opening hours?");
        Assert.Equal(("no", "other"), (Event(no, "llm_condition")["answer"]!.GetValue<string>(), no["events"]!.AsArray()[^1]!["output"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_configured_key_is_sent_as_a_bearer_token_and_recorded_nowhere()
    {
        var answer = await client.StartAsync(await UploadAsync(Worker("keyed", "order 777888")));
        Assert.Equal("completed", answer["status"]!.GetValue<string>());
        Assert.Contains(model.Requests, r => r.Authorization == $"Bearer {ApiKey}");
        var run = await client.GetStringAsync($"/v1/runs/{answer["run_id"]}");
        Assert.DoesNotContain(ApiKey, run + answer.ToJsonString());
        Assert.DoesNotContain(factory.Logs, line => line.Contains(ApiKey));
    }

    [Theory]
    [InlineData("""{ "id": "c", "type": "llm", "messages": [ { "role": "user", "content": "hi" } ], "next": "d" }""", "$.nodes[0]", "missing_llm_endpoint")]
    [InlineData("""{ "id": "c", "type": "llm", "llm_config": "nope", "messages": [ { "role": "user", "content": "hi" } ], "next": "d" }""", "$.nodes[0].llm_config", "unknown_llm_config")]
    [InlineData("""{ "id": "c", "type": "llm", "base_url": "http://127.0.0.1:1/v1", "messages": [ { "role": "user", "content": "hi" } ], "next": "d" }""", "$.nodes[0].model", "missing_field")]
    [InlineData("""{ "id": "c", "type": "llm", "llm_config": "default", "messages": [], "next": "d" }""", "$.nodes[0].messages", "missing_field")]
    [InlineData("""{ "id": "c", "type": "llm", "llm_config": "default", "mode": "worker", "messages": [ { "role": "user", "content": "hi" } ], "next": "d" }""", "$.nodes[0].variable", "missing_field")]
    [InlineData("""{ "id": "c", "type": "branch", "cases": [ { "llm_condition": { "question": "?" }, "next": "d" } ], "default": "d" }""", "$.nodes[0].cases[0].llm_condition", "missing_llm_endpoint")]
    public async Task Llm_nodes_without_an_endpoint_or_with_bad_fields_are_refused_at_upload(string node, string path, string code)
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json($$"""{ "name": "x", "start": "c", "nodes": [ {{node}}, { "id": "d", "type": "end" } ] }"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = (await response.ReadObjectAsync())["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["path"]!.GetValue<string>() == path && e["code"]!.GetValue<string>() == code);
    }

    private static string Worker(string config, string text) => $$$"""
        { "name": "Extract", "start": "extract", "nodes": [
          { "id": "extract", "type": "llm", "mode": "worker", "llm_config": "{{{config}}}",
            "messages": [ { "role": "user", "content": "Extract the order number from: {{{text}}}" } ],
            "outputs": [ { "name": "order_id", "type": "string" } ], "next": "done" },
          { "id": "done", "type": "end", "output": "{{order_id}}" } ] }
        """;

    private static JsonObject Event(JsonObject answer, string type) =>
        answer["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == type)!.AsObject();

    private async Task<string> UploadAsync(string definition)
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json(definition));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["workflow_id"]!.GetValue<string>();
    }
}
