using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Tests;

/// <summary>
/// Every type of event a run records, as clients read it: in the answer of the turn that recorded it, and read back
/// from the store through the events API, each conversation compared with its golden file. Together with the sample
/// conversations (<see cref="GoldenTranscriptTests"/>) they pin the wire bytes of the whole event catalogue; a type
/// no golden file shows fails <see cref="Every_event_type_is_pinned_by_a_golden_file"/>.
/// </summary>
public sealed partial class EventCatalogueTests : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
    private LoopbackOpenAi model = null!;
    private LoopbackApi api = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        model = await LoopbackOpenAi.StartAsync();
        api = await LoopbackApi.StartAsync("token");
        factory = new SessionsFactory(null, new()
        {
            ["Sessions:Workers:PollMilliseconds"] = "0",
            ["Sessions:Batches:PollMilliseconds"] = "0",
            ["Sessions:Llm:Configs:default:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:default:Model"] = "big-model",
            ["Sessions:Llm:Configs:cheap:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:cheap:Model"] = "small-model",
        }, clock);
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await api.DisposeAsync();
        await model.DisposeAsync();
    }

    [Fact]
    public async Task A_conversation_with_a_model_a_question_put_to_it_and_variables_set()
    {
        var conversation = new Conversation(this, await client.UploadAsync("""
            { "name": "Model", "start": "greet", "nodes": [
              { "id": "greet", "type": "llm", "mode": "say", "llm_config": "default",
                "messages": [ { "role": "system", "content": "Greet the user." } ], "include_history": true, "wait_for_reply": true, "next": "route" },
              { "id": "route", "type": "branch",
                "cases": [ { "llm_condition": { "question": "Does the user want a refund?", "llm_config": "cheap" }, "next": "note" } ],
                "default": "done" },
              { "id": "note", "type": "set", "assign": { "reason": "refund", "asked": "{{last_user_message}}" }, "next": "tell" },
              { "id": "tell", "type": "say", "text": "Noted: {{reason}}.", "next": "done" },
              { "id": "done", "type": "end", "output": { "reason": "{{reason}}" } } ] }
            """));
        await conversation.TurnAsync(new { });
        await conversation.TurnAsync(new { user_message = "I want a refund for my kettle" });
        await conversation.VerifyAsync("events-model");
    }

    [Fact]
    public async Task Calls_to_an_api_steps_in_parallel_a_failure_and_its_retry()
    {
        var conversation = new Conversation(this, await client.UploadAsync($$$"""
            { "name": "Steps", "start": "lookup", "nodes": [
              { "id": "lookup", "type": "http_request", "url": "{{{api.Address}}}public/orders/123456", "response": { "status": "status" }, "next": "work" },
              { "id": "work", "type": "parallel", "next": "done", "steps": [
                { "id": "a", "type": "http_request", "url": "{{{api.Address}}}count/catalogue-a", "response": { "n": "n" } },
                { "id": "b", "type": "http_request", "url": "{{{api.Address}}}broken/catalogue-b", "retry_delay_seconds": 0.01 },
                { "id": "c", "type": "set", "depends_on": ["b"], "assign": { "seen": "{{steps.a.n}}" } } ] },
              { "id": "done", "type": "end", "output": "{{steps}}" } ] }
            """));
        await conversation.TurnAsync(new { });
        api.Mend("catalogue-b");
        await conversation.TurnAsync(new { command = "retry" });
        await conversation.VerifyAsync("events-steps");
    }

    [Fact]
    public async Task A_node_run_again_while_it_says_so_until_it_may_not_and_a_failing_one_retried()
    {
        var conversation = new Conversation(this, await client.UploadAsync($$$"""
            { "name": "Self loops", "start": "count", "variables": { "n": 0 }, "nodes": [
              { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "call",
                "self_loop": { "max_retries": 2, "while": { "var": "n", "op": "lt", "value": 10 } } },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}missing-first/1/catalogue-loop", "fail_on_error_status": true, "next": "done",
                "self_loop": { "max_retries": 3 } },
              { "id": "done", "type": "end", "output": "{{n}}" } ] }
            """));
        await conversation.TurnAsync(new { });
        await conversation.VerifyAsync("events-self-loops");
    }

    [Fact]
    public async Task A_warned_workflow_that_loops_a_failing_one_and_commands_that_pause_resume_and_stop()
    {
        var looping = new Conversation(this, await client.UploadAsync("""
            { "name": "Loops forever", "start": "bump", "variables": { "n": 0 }, "nodes": [
              { "id": "bump", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "check" },
              { "id": "check", "type": "branch", "cases": [ { "when": { "var": "n", "op": "lt", "value": 0 }, "next": "done" } ], "default": "bump" },
              { "id": "done", "type": "end" } ] }
            """));
        await looping.TurnAsync(new { });
        await looping.VerifyAsync("events-loop-guard");

        var failing = new Conversation(this, await client.UploadAsync("""
            { "name": "Fails", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Go?", "variable": "go", "input": { "kind": "choice", "options": [ { "value": "y", "label": "Yes" } ] }, "next": "broken" },
              { "id": "broken", "type": "fail", "error": "Out of stock ({{go}})" } ] }
            """));
        await failing.TurnAsync(new { });
        await failing.TurnAsync(new { user_message = "y" });
        await failing.VerifyAsync("events-failure");

        var commanded = new Conversation(this, await client.UploadAsync("""
            { "name": "Commands", "start": "hold", "nodes": [
              { "id": "hold", "type": "pause", "next": "ask" },
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """));
        await commanded.TurnAsync(new { });
        await commanded.TurnAsync(new { command = "resume" });
        await commanded.TurnAsync(new { command = "pause" });
        await commanded.TurnAsync(new { command = "resume" });
        await commanded.TurnAsync(new { command = "stop" });
        await commanded.VerifyAsync("events-commands");
    }

    [Fact]
    public async Task A_wait_that_times_out_and_a_pause_that_resumes_by_itself()
    {
        var conversation = new Conversation(this, await client.UploadAsync("""
            { "name": "Reminder", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Order number?", "variable": "order", "timeout_seconds": 60, "on_timeout": "nudge", "next": "done" },
              { "id": "nudge", "type": "say", "text": "Still there?", "next": "hold" },
              { "id": "hold", "type": "pause", "resume_after_seconds": 120, "next": "ask" },
              { "id": "done", "type": "end", "output": "{{order}}" } ] }
            """));
        await conversation.TurnAsync(new { });
        var timers = factory.Services.GetRequiredService<RunWork>();
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(1, await timers.RunDueAsync(default));
        clock.Advance(TimeSpan.FromSeconds(121));
        Assert.Equal(1, await timers.RunDueAsync(default));
        await conversation.TurnAsync(new { user_message = "123456" });
        await conversation.VerifyAsync("events-timers");
    }

    [Fact]
    public async Task A_background_turn_its_run_refused_when_its_time_came()
    {
        var conversation = new Conversation(this, await client.UploadAsync($$$"""
            { "name": "Two questions", "start": "name", "nodes": [
              { "id": "name", "type": "ask", "prompt": "Name?", "variable": "name", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/{{name}}", "timeout_seconds": 30, "next": "order" },
              { "id": "order", "type": "ask", "prompt": "Order?", "variable": "order", "input": { "kind": "text", "pattern": "^[0-9]{6}$" }, "next": "done" },
              { "id": "done", "type": "end", "output": "{{name}} {{order}}" } ] }
            """));
        await conversation.TurnAsync(new { });
        var work = factory.Services.GetRequiredService<RunWork>();
        await conversation.AcceptedAsync(new { user_message = "Catalogue" });
        await conversation.AcceptedAsync(new { user_message = "not an order", on_busy = "enqueue" });
        var running = work.RunDueAsync(default);
        await api.Gate("Catalogue").Arrived;
        api.Gate("Catalogue").Open();
        await running;
        while (await work.RunDueAsync(default) > 0)
        {
        }

        await conversation.VerifyAsync("events-refused");
    }

    [Fact]
    public void Every_event_type_is_pinned_by_a_golden_file()
    {
        var folder = Path.Combine(GoldenFolder(), "Golden");
        var pinned = Directory.GetFiles(folder, "*.verified.json")
            .SelectMany(path => TypeField().Matches(File.ReadAllText(path)).Select(m => m.Groups[1].Value))
            .ToHashSet();

        // A pattern that runs out of time needs a budget no request can exhaust; its event is pinned by the runtime's
        // catalogue tests instead.
        var unpinned = Enum.GetValues<RunEventType>().Where(type => type != RunEventType.ConditionTimeout && !pinned.Contains(type.ToWire())).ToList();
        Assert.Empty(unpinned);
    }

    private static string GoldenFolder([System.Runtime.CompilerServices.CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;

    [GeneratedRegex("\"type\": \"([a-z_]+)\"")]
    private static partial Regex TypeField();

    /// <summary>One run's turns: each answer's events as the client got them, then every event read back from the store.</summary>
    private sealed class Conversation(EventCatalogueTests test, string workflowId)
    {
        private readonly JsonArray answers = [];
        private string? runId;

        public async Task TurnAsync(object runInput)
        {
            var response = await test.client.ExecuteAsync(workflowId, new JsonObject { ["run_id"] = runId, ["run_input"] = System.Text.Json.JsonSerializer.SerializeToNode(runInput) });
            var answer = await response.ReadObjectAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
            runId ??= answer["run_id"]!.GetValue<string>();
            answers.Add(new JsonObject { ["turn_number"] = answer["turn_number"]!.DeepClone(), ["status"] = answer["status"]!.DeepClone(), ["events"] = answer["events"]!.DeepClone() });
        }

        public async Task AcceptedAsync(object runInput)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute")
            {
                Content = Http.Json(new JsonObject { ["run_id"] = runId, ["run_input"] = System.Text.Json.JsonSerializer.SerializeToNode(runInput) }.ToJsonString()),
            };
            request.Headers.Add("Prefer", "respond-async");
            var response = await test.client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        public async Task VerifyAsync(string name, [System.Runtime.CompilerServices.CallerFilePath] string callerFile = "")
        {
            var stored = await (await test.client.GetAsync($"/v1/runs/{runId}/events?limit=1000")).ReadObjectAsync();

            // Each event, read from the wire into its record, writes its own fields again exactly as the server sent them.
            foreach (var wire in stored["events"]!.AsArray().Select(e => e!.AsObject()))
            {
                var payload = EventCatalogue.ReadWire(System.Text.Json.JsonSerializer.SerializeToElement(wire));
                Assert.Equal(wire["type"]!.GetValue<string>(), payload.Type.ToWire());
                var own = new JsonObject(wire.Where(p => p.Key != "type" && !EventCatalogue.CommonFields.Contains(p.Key)).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
                Assert.Equal(own.ToJsonString(), EventCatalogue.FieldsObject(payload).ToJsonString());
            }
            var text = new JsonObject { ["answers"] = answers.DeepClone(), ["stored"] = stored["events"]!.DeepClone() }.ToJsonString()
                .Replace(test.api.Address.ToString(), "http://{api}/", StringComparison.Ordinal);

            // A call's time is measured, not scripted.
            text = LatencyField().Replace(text, "\"latency_ms\":\"{latency_ms}\"");
            Golden.Verify(name, JsonNode.Parse(text)!, callerFile);
        }
    }

    [GeneratedRegex("\"latency_ms\":[0-9.eE+-]+")]
    private static partial Regex LatencyField();
}
