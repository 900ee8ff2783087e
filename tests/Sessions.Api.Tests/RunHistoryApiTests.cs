using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

/// <summary>Runs in known states, made once for the history tests below; none of these tests changes them.</summary>
public sealed class RunHistoryFixture : IAsyncLifetime
{
    /// <summary>The server's clock, moved on between runs so that a time falls strictly between them, without waiting.</summary>
    public Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public SessionsFactory Factory { get; }

    public HttpClient Client { get; private set; } = null!;

    /// <summary>Order status, completed on turn 3 after one unknown order number; started by ada.</summary>
    public string Completed { get; private set; } = null!;

    /// <summary>Order status, waiting after turn 1; started by bob.</summary>
    public string Waiting { get; private set; } = null!;

    /// <summary>Support ticket, waiting after turn 2; started by ada.</summary>
    public string Ticket { get; private set; } = null!;

    public DateTimeOffset Between { get; private set; }

    public RunHistoryFixture() => Factory = new SessionsFactory(null, null, Clock);

    public async Task InitializeAsync()
    {
        Client = Factory.CreateClient();
        Completed = (await Client.StartAsync(SessionsFactory.OrderStatus, new { run_by = "ada", dynamic_variables = new { name = "Ada" } }))["run_id"]!.GetValue<string>();
        await Client.ReplyAsync(SessionsFactory.OrderStatus, Completed, "654321");
        await Client.ReplyAsync(SessionsFactory.OrderStatus, Completed, "123456");
        Clock.Advance(TimeSpan.FromMinutes(1));
        Between = Clock.GetUtcNow();
        Clock.Advance(TimeSpan.FromMinutes(1));
        Waiting = (await Client.StartAsync(SessionsFactory.OrderStatus, new { run_by = "bob" }))["run_id"]!.GetValue<string>();
        Ticket = (await Client.StartAsync(SessionsFactory.SupportTicket, new { run_by = "ada" }))["run_id"]!.GetValue<string>();
        await Client.ReplyAsync(SessionsFactory.SupportTicket, Ticket, "Ada Lovelace");
    }

    public Task DisposeAsync()
    {
        Factory.Dispose();
        return Task.CompletedTask;
    }

    public async Task<JsonObject> GetAsync(string path)
    {
        var response = await Client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadObjectAsync();
    }

    public async Task<List<string>> RunIdsAsync(string path) =>
        (await GetAsync(path))["items"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()).ToList();
}

public sealed class RunHistoryApiTests(RunHistoryFixture f) : IClassFixture<RunHistoryFixture>
{
    [Fact]
    public async Task Runs_list_newest_first_with_filters()
    {
        var all = await f.GetAsync("/v1/runs?limit=100");
        Assert.Equal(3, all["total"]!.GetValue<int>());
        Assert.Equal([f.Ticket, f.Waiting, f.Completed], all["items"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()));
        var first = all["items"]![0]!;
        Assert.Equal(("Support ticket intake", "waiting_for_user_input", 2, "ada"),
            (first["workflow_name"]!.GetValue<string>(), first["status"]!.GetValue<string>(), first["turn_number"]!.GetValue<int>(), first["run_by"]!.GetValue<string>()));

        Assert.Equal([f.Completed], await f.RunIdsAsync("/v1/runs?status=completed"));
        Assert.Equal([f.Ticket, f.Waiting, f.Completed], await f.RunIdsAsync("/v1/runs?status=completed,waiting_for_user_input"));
        Assert.Equal([f.Ticket, f.Completed], await f.RunIdsAsync("/v1/runs?run_by=ada"));
        Assert.Equal([f.Waiting, f.Completed], await f.RunIdsAsync($"/v1/runs?workflow_id={SessionsFactory.OrderStatus}"));
        Assert.Equal([f.Ticket], await f.RunIdsAsync("/v1/runs?q=TICKET"));
        Assert.Equal([f.Completed], await f.RunIdsAsync($"/v1/runs?created_before={Uri.EscapeDataString(f.Between.ToString("O"))}"));
        Assert.Equal([f.Ticket, f.Waiting], await f.RunIdsAsync($"/v1/runs?created_after={Uri.EscapeDataString(f.Between.ToString("O"))}"));
        Assert.Equal([f.Waiting], await f.RunIdsAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/runs?status=waiting_for_user_input"));
    }

    [Fact]
    public async Task Paging_edges()
    {
        var second = await f.GetAsync("/v1/runs?page=2&limit=2");
        Assert.Equal((2, 2, 3), (second["page"]!.GetValue<int>(), second["limit"]!.GetValue<int>(), second["total"]!.GetValue<int>()));
        Assert.Equal([f.Completed], second["items"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()));
        var beyond = await f.GetAsync("/v1/runs?page=3&limit=2");
        Assert.Empty(beyond["items"]!.AsArray());
        Assert.Equal(3, beyond["total"]!.GetValue<int>());
        Assert.Equal(10, (await f.GetAsync("/v1/runs"))["limit"]!.GetValue<int>());
        Assert.Equal(100, (await f.GetAsync("/v1/runs?limit=100"))["limit"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/v1/runs?limit=0", 400, "invalid_paging")]
    [InlineData("/v1/runs?limit=101", 400, "invalid_paging")]
    [InlineData("/v1/runs?page=0", 400, "invalid_paging")]
    [InlineData("/v1/runs?status=finished", 400, "invalid_request")]
    [InlineData("/v1/runs?created_after=yesterday", 400, "invalid_request")]
    [InlineData("/v1/runs?workflow_id=xyz", 400, "malformed_id")]
    [InlineData("/v1/runs/xyz", 400, "malformed_id")]
    [InlineData("/v1/runs/66a1f00000000000000000ff", 404, "run_not_found")]
    [InlineData("/v1/runs/66a1f00000000000000000ff/events", 404, "run_not_found")]
    [InlineData("/v1/runs/66a1f00000000000000000ff/transcript", 404, "run_not_found")]
    [InlineData("/v1/workflows/66a1f00000000000000000ff/runs", 404, "workflow_not_found")]
    [InlineData("/v1/workflows/66a1f00000000000000000ff/runs/stats", 404, "workflow_not_found")]
    public async Task History_lookups_answer_problem_details(string path, int status, string code)
    {
        var response = await f.Client.GetAsync(path);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stats_count_runs_by_status()
    {
        var orders = await f.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/runs/stats");
        Assert.Equal(2, orders["total"]!.GetValue<int>());
        Assert.Equal((1, 1, 0), (orders["counts"]!["completed"]!.GetValue<int>(), orders["counts"]!["waiting_for_user_input"]!.GetValue<int>(), orders["counts"]!["failed"]!.GetValue<int>()));
        var all = await f.GetAsync("/v1/runs/stats");
        Assert.Equal((3, 2), (all["total"]!.GetValue<int>(), all["counts"]!["waiting_for_user_input"]!.GetValue<int>()));

        // The counts follow the list's filters, so a filtered list and its counts agree.
        var adas = await f.GetAsync("/v1/runs/stats?run_by=ada");
        Assert.Equal((2, 1, 1), (adas["total"]!.GetValue<int>(), adas["counts"]!["completed"]!.GetValue<int>(), adas["counts"]!["waiting_for_user_input"]!.GetValue<int>()));
        var adasOrders = await f.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/runs/stats?run_by=ada&q=order");
        Assert.Equal(1, adasOrders["total"]!.GetValue<int>());
        Assert.Equal(0, (await f.GetAsync("/v1/runs/stats?created_after=2999-01-01T00:00:00Z"))["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_run_reads_back_whole_with_turns_and_node_executions()
    {
        var run = await f.GetAsync($"/v1/runs/{f.Completed}");
        Assert.Equal(("completed", 0, 3, "workflow", "Order status"),
            (run["status"]!.GetValue<string>(), run["version_number"]!.GetValue<int>(), run["turn_number"]!.GetValue<int>(), run["termination_source"]!.GetValue<string>(), run["workflow_name"]!.GetValue<string>()));
        Assert.Equal("123456", run["variables"]!["order_id"]!.GetValue<string>());
        Assert.NotNull(run["completed_at"]?.GetValue<DateTime>());

        var turns = run["turns"]!.AsArray();
        Assert.Equal([1, 2, 3], turns.Select(t => t!["turn_number"]!.GetValue<int>()));
        Assert.Equal("654321", turns[1]!["input"]!["user_message"]!.GetValue<string>());
        Assert.Equal("waiting_for_user_input", turns[1]!["output"]!["status"]!.GetValue<string>());
        Assert.Equal("completed", turns[2]!["output"]!["status"]!.GetValue<string>());
        var seqs = turns.SelectMany(t => t!["events"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>())).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);

        var asks = run["node_executions"]!.AsArray().Where(n => n!["node_id"]!.GetValue<string>() == "ask_order").ToList();
        Assert.Equal([(1, 1, "completed"), (2, 2, "completed")], asks.Select(a => (a!["attempt"]!.GetValue<int>(), a["turn_number"]!.GetValue<int>(), a["status"]!.GetValue<string>())));

        var waiting = await f.GetAsync($"/v1/runs/{f.Waiting}");
        Assert.Equal("ask_order", waiting["next_input_hint"]!["node_id"]!.GetValue<string>());
        Assert.Equal("waiting_for_user_input", waiting["node_executions"]!.AsArray()[^1]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Events_page_after_a_seq()
    {
        var first = await f.GetAsync($"/v1/runs/{f.Completed}/events?limit=5");
        Assert.Equal([1L, 2, 3, 4, 5], first["events"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>()));
        Assert.True(first["has_more"]!.GetValue<bool>());
        var next = await f.GetAsync($"/v1/runs/{f.Completed}/events?after_seq={first["next_after_seq"]}&limit=1000");
        Assert.Equal(6, next["events"]!.AsArray()[0]!["seq"]!.GetValue<long>());
        Assert.False(next["has_more"]!.GetValue<bool>());
        var end = await f.GetAsync($"/v1/runs/{f.Completed}/events?after_seq={next["next_after_seq"]}");
        Assert.Empty(end["events"]!.AsArray());
        Assert.Equal(next["next_after_seq"]!.GetValue<long>(), end["next_after_seq"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.BadRequest, (await f.Client.GetAsync($"/v1/runs/{f.Completed}/events?after_seq=-1")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await f.Client.GetAsync($"/v1/runs/{f.Completed}/events?limit=1001")).StatusCode);
    }

    [Fact]
    public async Task The_transcript_reads_as_a_conversation_in_json_and_markdown()
    {
        var json = await f.GetAsync($"/v1/runs/{f.Completed}/transcript");
        var lines = json["turns"]!.AsArray().Select(t => string.Join(" | ", t!["lines"]!.AsArray().Select(l => $"{l!["role"]}:{l["text"]}"))).ToList();
        Assert.Equal(
            [
                "assistant:Hi Ada! | assistant:Your order number?",
                "user:654321 | assistant:Your order number?",
                "user:123456 | assistant:Order 123456 has shipped. | system:Run completed.",
            ],
            lines);

        var response = await f.Client.GetAsync($"/v1/runs/{f.Completed}/transcript?format=markdown");
        Assert.Equal("text/markdown", response.Content.Headers.ContentType!.MediaType);
        var markdown = await response.Content.ReadAsStringAsync();
        Assert.StartsWith($"# Order status: run {f.Completed}", markdown);
        Assert.Contains("## Turn 2", markdown);
        Assert.Contains("**User:** 654321", markdown);
        Assert.Contains("**Assistant asks:** Your order number?", markdown);
        Assert.Contains("_Run completed._", markdown);
        Assert.Equal(HttpStatusCode.BadRequest, (await f.Client.GetAsync($"/v1/runs/{f.Completed}/transcript?format=pdf")).StatusCode);
    }
}

/// <summary>One turn at a time, as support staff read a conversation: what the run knew after it, and what it changed.</summary>
public sealed class TurnDetailsTests : IDisposable
{
    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public TurnDetailsTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task Each_turn_shows_the_state_after_it_and_the_variables_it_changed()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus, new { dynamic_variables = new { name = "Ada" } }))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "654321");
        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "123456");

        var first = await (await client.GetAsync($"/v1/runs/{runId}/turns/1")).ReadObjectAsync();
        Assert.Equal("waiting_for_user_input", first["state_after"]!["status"]!.GetValue<string>());
        Assert.Equal("ask_order", first["state_after"]!["waiting_node_id"]!.GetValue<string>());
        Assert.Equal("ask_order", first["state_after"]!["next_input_hint"]!["node_id"]!.GetValue<string>());
        Assert.Equal("Ada", first["variable_changes"]!["added"]!["name"]!.GetValue<string>());
        Assert.Empty(first["variable_changes"]!["changed"]!.AsObject());

        var second = await (await client.GetAsync($"/v1/runs/{runId}/turns/2")).ReadObjectAsync();
        Assert.Equal("654321", second["input"]!["user_message"]!.GetValue<string>());
        Assert.Equal("654321", second["state_after"]!["variables"]!["order_id"]!.GetValue<string>());
        var changed = second["variable_changes"]!["changed"]!;
        Assert.Null(changed["order_id"]!["before"]);
        Assert.Equal("654321", changed["order_id"]!["after"]!.GetValue<string>());
        Assert.Equal((0, 1), (changed["attempts"]!["before"]!.GetValue<int>(), changed["attempts"]!["after"]!.GetValue<int>()));
        Assert.False(changed.AsObject().ContainsKey("name"));
        Assert.True(second["events_complete"]!.GetValue<bool>());
        Assert.Equal("user_messages", second["events"]!.AsArray()[0]!["type"]!.GetValue<string>());

        var third = await (await client.GetAsync($"/v1/runs/{runId}/turns/3")).ReadObjectAsync();
        Assert.Equal("completed", third["state_after"]!["status"]!.GetValue<string>());
        Assert.Null(third["state_after"]!["next_input_hint"]);
        Assert.Equal("123456", third["variable_changes"]!["changed"]!["order_id"]!["after"]!.GetValue<string>());

        // A fork's turn 0 is its starting state: every variable is new to it.
        var fork = await (await client.PostAsync($"/v1/runs/{runId}/fork", Http.Json("""{"turn_number":2}"""))).ReadObjectAsync();
        var origin = await (await client.GetAsync($"/v1/runs/{fork["run_id"]}/turns/0")).ReadObjectAsync();
        Assert.Equal("654321", origin["variable_changes"]!["added"]!["order_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_choice_reply_reads_in_the_transcript_as_the_label_the_person_was_shown()
    {
        var runId = (await client.StartAsync(SessionsFactory.SupportTicket))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "Ada Lovelace");
        await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "ada@example.com");
        await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "billing");

        var transcript = await (await client.GetAsync($"/v1/runs/{runId}/transcript")).ReadObjectAsync();
        var said = transcript["turns"]!.AsArray().SelectMany(t => t!["lines"]!.AsArray()).Where(l => l!["role"]!.GetValue<string>() == "user").Select(l => l!["text"]!.GetValue<string>());
        Assert.Equal(["Ada Lovelace", "ada@example.com", "Billing and invoices"], said);
        Assert.Contains("**User:** Billing and invoices", await client.GetStringAsync($"/v1/runs/{runId}/transcript?format=markdown"));
    }

    [Theory]
    [InlineData("4", 404, "turn_not_found")]
    [InlineData("0", 404, "turn_not_found")]
    [InlineData("x", 400, "invalid_request")]
    [InlineData("-1", 400, "invalid_request")]
    public async Task A_turn_that_is_not_there_is_a_problem(string turn, int status, string code)
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var response = await client.GetAsync($"/v1/runs/{runId}/turns/{turn}");
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }
}

/// <summary>Reads of long runs come in bounded pages, with explicit links to the rest; nothing is cut silently.</summary>
public sealed class LongRunReadTests : IDisposable
{
    private const string Chatty = """
        { "name": "Chatty", "start": "ask",
          "limits": { "max_node_executions_per_turn": 1000, "max_visits_per_node_per_turn": 500 },
          "variables": { "n": 0 },
          "nodes": [
            { "id": "ask", "type": "ask", "prompt": "Say something", "variable": "said", "next": "route" },
            { "id": "route", "type": "branch", "cases": [ { "when": { "var": "said", "op": "eq", "value": "flood" }, "next": "count" } ], "default": "ask" },
            { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "more" },
            { "id": "more", "type": "branch", "cases": [ { "when": { "var": "n", "op": "lt", "value": 400 }, "next": "count" } ], "default": "reset" },
            { "id": "reset", "type": "set", "assign": { "n": 0 }, "next": "ask" } ] }
        """;

    private readonly SessionsFactory factory = new(null, new() { ["Sessions:Turns:MaxEventsPerTurn"] = "10000", ["Sessions:RateLimit:PermitsPerSecond"] = "0" });
    private readonly HttpClient client;

    public LongRunReadTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task A_long_run_reads_in_pages_of_turns_that_add_up_to_every_turn_and_event()
    {
        var workflowId = await client.UploadAsync(Chatty);
        var runId = (await client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        for (var i = 0; i < 44; i++)
        {
            await client.ReplyAsync(workflowId, runId, i == 30 ? "flood" : $"message {i}");
        }

        // Turn 32 (the flood) records thousands of events: more than a page holds.
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(45, run["turn_number"]!.GetValue<int>());
        Assert.Equal(Enumerable.Range(1, 20), run["turns"]!.AsArray().Select(t => t!["turn_number"]!.GetValue<int>()));
        Assert.Equal($"/v1/runs/{runId}/turns?after_turn=20&limit=20", run["next_turns"]!.GetValue<string>());

        var turns = run["turns"]!.AsArray().Select(t => t!.AsObject()).ToList();
        for (var next = run["next_turns"]?.GetValue<string>(); next is not null;)
        {
            var page = await (await client.GetAsync(next)).ReadObjectAsync();
            turns.AddRange(page["turns"]!.AsArray().Select(t => t!.AsObject()));
            next = page["next"]?.GetValue<string>();
            Assert.Equal(next is not null, page["has_more"]!.GetValue<bool>());
        }

        Assert.Equal(Enumerable.Range(1, 45), turns.Select(t => t["turn_number"]!.GetValue<int>()));
        var flood = turns.Single(t => t["turn_number"]!.GetValue<int>() == 32);
        Assert.False(flood["events_complete"]!.GetValue<bool>());
        Assert.NotEmpty(flood["events"]!.AsArray());

        // The turn's events, completed through its link, and every other turn's, are the run's events exactly once.
        var seqs = new List<long>();
        foreach (var turn in turns)
        {
            seqs.AddRange(turn["events"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>()));
            for (var more = turn["more_events"]?.GetValue<string>(); more is not null;)
            {
                var page = await (await client.GetAsync(more + "&limit=1000")).ReadObjectAsync();
                var own = page["events"]!.AsArray().Where(e => e!["turn_number"]!.GetValue<int>() == turn["turn_number"]!.GetValue<int>()).ToList();
                seqs.AddRange(own.Select(e => e!["seq"]!.GetValue<long>()));
                more = own.Count == page["events"]!.AsArray().Count && page["has_more"]!.GetValue<bool>()
                    ? $"/v1/runs/{runId}/events?after_seq={page["next_after_seq"]!.GetValue<long>()}"
                    : null;
            }
        }

        var last = (await (await client.GetAsync($"/v1/runs/{runId}/events?after_seq={seqs.Max() - 1}")).ReadObjectAsync())["events"]!.AsArray();
        Assert.Equal(seqs.Max(), last.Single()!["seq"]!.GetValue<long>());
        Assert.Equal(Enumerable.Range(1, (int)seqs.Max()).Select(i => (long)i), seqs);

        // The transcript is whole: it ends with the last question, after the last reply.
        var transcript = await (await client.GetAsync($"/v1/runs/{runId}/transcript")).ReadObjectAsync();
        Assert.Equal(45, transcript["turns"]!.AsArray().Count);
        var lastLines = transcript["turns"]!.AsArray()[^1]!["lines"]!.AsArray();
        Assert.Equal("message 43", lastLines[0]!["text"]!.GetValue<string>());
        Assert.Equal("Say something", lastLines[^1]!["text"]!.GetValue<string>());
        var markdown = await client.GetStringAsync($"/v1/runs/{runId}/transcript?format=markdown");
        Assert.Contains("## Turn 45", markdown);
        Assert.EndsWith("**Assistant asks:** Say something\n\n", markdown);
    }

    [Theory]
    [InlineData("?after_turn=x")]
    [InlineData("?after_turn=-2")]
    [InlineData("?limit=0")]
    [InlineData("?limit=201")]
    public async Task Turn_pages_refuse_bad_paging(string query)
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var response = await client.GetAsync($"/v1/runs/{runId}/turns{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_paging", (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }
}

public sealed class CancelRunsTests : IDisposable
{
    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public CancelRunsTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task Cancel_by_ids_reports_an_outcome_per_run()
    {
        var waiting = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var done = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, done, "123456");
        const string unknown = "66a1f00000000000000000ff";

        var response = await client.PostAsync("/v1/runs/cancel", Http.Json($$"""{"run_ids":["{{waiting}}","{{done}}","{{unknown}}"],"reason":"customer left"}"""));
        var body = await response.ReadObjectAsync();
        Assert.Equal(
            [(waiting, "cancelled", "cancelled"), (done, "already_completed", "completed"), (unknown, "not_found", (string?)null)],
            body["results"]!.AsArray().Select(r => (r!["run_id"]!.GetValue<string>(), r["outcome"]!.GetValue<string>(), r["status"]?.GetValue<string>())));
        Assert.Equal((1, 1, 1, 0), (body["counts"]!["cancelled"]!.GetValue<int>(), body["counts"]!["already_completed"]!.GetValue<int>(), body["counts"]!["not_found"]!.GetValue<int>(), body["counts"]!["not_eligible"]!.GetValue<int>()));

        var run = await (await client.GetAsync($"/v1/runs/{waiting}")).ReadObjectAsync();
        Assert.Equal(("cancelled", "cancel_request"), (run["status"]!.GetValue<string>(), run["termination_source"]!.GetValue<string>()));
        var cancelled = run["turns"]!.AsArray()[^1]!["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "cancelled")!;
        Assert.Equal("customer left", cancelled["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancel_by_workflow_stops_every_unfinished_run_of_it_only()
    {
        var a = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var b = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var done = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, done, "123456");
        var other = (await client.StartAsync(SessionsFactory.SupportTicket))["run_id"]!.GetValue<string>();

        var body = await (await client.PostAsync("/v1/runs/cancel", Http.Json($$"""{"workflow_id":"{{SessionsFactory.OrderStatus}}"}"""))).ReadObjectAsync();
        Assert.Equal(new[] { a, b }.Order(), body["results"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()).Order());
        Assert.All(body["results"]!.AsArray(), r => Assert.Equal("cancelled", r!["outcome"]!.GetValue<string>()));
        Assert.Equal("waiting_for_user_input", (await (await client.GetAsync($"/v1/runs/{other}")).ReadObjectAsync())["status"]!.GetValue<string>());
        var stats = await (await client.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/runs/stats")).ReadObjectAsync();
        Assert.Equal((2, 1), (stats["counts"]!["cancelled"]!.GetValue<int>(), stats["counts"]!["completed"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData("""{}""", 400, "invalid_request")]
    [InlineData("""{"run_ids":["66a1f0000000000000000001"],"workflow_id":"66a1f0000000000000000001"}""", 400, "invalid_request")]
    [InlineData("""{"run_ids":[]}""", 400, "invalid_request")]
    [InlineData("""{"run_ids":[5]}""", 400, "invalid_request")]
    [InlineData("""{"run_ids":["nope"]}""", 400, "malformed_id")]
    [InlineData("""{"workflow_id":"66a1f00000000000000000ff"}""", 404, "workflow_not_found")]
    [InlineData("""{"workflow_id":"66a1f0000000000000000001","reason":7}""", 400, "invalid_request")]
    [InlineData("""[1]""", 400, "invalid_request")]
    [InlineData("""{"run_ids":""", 400, "malformed_json")]
    public async Task Bad_cancel_requests_are_refused(string body, int status, string code)
    {
        var response = await client.PostAsync("/v1/runs/cancel", Http.Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reason_over_500_characters_is_refused_and_cancels_nothing()
    {
        var run = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var response = await client.PostAsync("/v1/runs/cancel", Http.Json($$"""{"run_ids":["{{run}}"],"reason":"{{new string('x', 501)}}"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("waiting_for_user_input", (await (await client.GetAsync($"/v1/runs/{run}")).ReadObjectAsync())["status"]!.GetValue<string>());
        var ok = await client.PostAsync("/v1/runs/cancel", Http.Json($$"""{"run_ids":["{{run}}"],"reason":"{{new string('x', 500)}}"}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
