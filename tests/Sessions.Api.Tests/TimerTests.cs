using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sessions.Runtime.Turns;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Timers on waits: an `ask` that times out continues at its `on_timeout`, a `pause` resumes by itself, each in a
/// turn of its own, once, and only if no turn came first. Time is a FakeTimeProvider the test moves on; the timers
/// are fired by calling the same service the background poller calls, so each step is deterministic.
/// </summary>
public abstract class TimerTests(StoreUnderTest store) : IAsyncLifetime
{
    private const string Reminder = """
        { "name": "Reminder", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Order number?", "variable": "order", "timeout_seconds": 60, "on_timeout": "nudge", "next": "done" },
          { "id": "nudge", "type": "say", "text": "Still there?", "next": "hold" },
          { "id": "hold", "type": "pause", "resume_after_seconds": 120, "next": "ask" },
          { "id": "done", "type": "end", "output": "{{order}}" } ] }
        """;

    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private Dictionary<string, string?> settings = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private string workflowId = null!;

    public async Task InitializeAsync()
    {
        settings = await store.SettingsAsync();
        settings["Sessions:Workers:PollMilliseconds"] = "0";
        factory = new SessionsFactory(null, settings, clock);
        client = factory.CreateClient();
        workflowId = await client.UploadAsync(Reminder);
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task A_wait_that_times_out_continues_at_on_timeout_and_a_paused_run_resumes_by_itself()
    {
        var runId = (await client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        var timers = factory.Services.GetRequiredService<RunWork>();
        var timer = (await RunAsync(runId))["timer"]!;
        Assert.Equal(("wait_timeout", "ask", "nudge"), (timer["kind"]!.GetValue<string>(), timer["node_id"]!.GetValue<string>(), timer["continue_at"]!.GetValue<string>()));
        Assert.Equal(clock.GetUtcNow().AddSeconds(60), timer["due_at"]!.GetValue<DateTimeOffset>());

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await timers.RunDueAsync(default));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await timers.RunDueAsync(default));
        var timedOut = await RunAsync(runId);
        Assert.Equal(("paused", 2), (timedOut["status"]!.GetValue<string>(), timedOut["turn_number"]!.GetValue<int>()));
        var second = Events(timedOut, turn: 2);
        Assert.Equal("wait_timeout", second[0]!["type"]!.GetValue<string>());
        Assert.Equal("ask", second[0]!["node_id"]!.GetValue<string>());
        Assert.Contains(second, e => e!["text"]?.GetValue<string>() == "Still there?");

        clock.Advance(TimeSpan.FromSeconds(120));
        Assert.Equal(1, await timers.RunDueAsync(default));
        var resumed = await RunAsync(runId);
        Assert.Equal(("waiting_for_user_input", 3), (resumed["status"]!.GetValue<string>(), resumed["turn_number"]!.GetValue<int>()));
        Assert.Equal("timer_fired", Events(resumed, turn: 3)[0]!["type"]!.GetValue<string>());

        // The reply comes in time now: it is the next turn, and the wait's timer goes with it.
        var done = await client.ReplyAsync(workflowId, runId, "123456");
        Assert.Equal(("completed", 4), (done["status"]!.GetValue<string>(), done["turn_number"]!.GetValue<int>()));
        Assert.Null((await RunAsync(runId))["timer"]);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await timers.RunDueAsync(default));
        Assert.Equal(4, (await RunAsync(runId))["turn_number"]!.GetValue<int>());
    }

    [ServerFact]
    public async Task A_reply_before_the_deadline_cancels_the_timer_and_one_after_it_is_answered_against_the_run_as_it_is()
    {
        var timers = factory.Services.GetRequiredService<RunWork>();
        var early = (await client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        var late = (await client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("completed", (await client.ReplyAsync(workflowId, early, "123456"))["status"]!.GetValue<string>());

        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, await timers.RunDueAsync(default));
        Assert.Equal(2, (await RunAsync(early))["turn_number"]!.GetValue<int>());

        // The late reply meets a run paused by the timeout's turn: a reply to a paused run resumes it at the question.
        var answer = await client.ExecuteAsync(workflowId, new { run_id = late, expected_turn = 1, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        Assert.Equal("turn_mismatch", (await answer.ReadObjectAsync())["code"]!.GetValue<string>());
        var resumed = await client.ExecuteAsync(workflowId, new { run_id = late, run_input = new { command = "resume" } });
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.Equal("waiting_for_user_input", (await resumed.ReadObjectAsync())["status"]!.GetValue<string>());

        // The resume took the turn the pause's timer was waiting for: that timer never fires; the question asked
        // again has a timer of its own, which does.
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await timers.RunDueAsync(default));
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(1, await timers.RunDueAsync(default));
        var run = await RunAsync(late);
        Assert.Equal(4, run["turn_number"]!.GetValue<int>());
        Assert.Equal("wait_timeout", Events(run, turn: 4)[0]!["type"]!.GetValue<string>());
        Assert.DoesNotContain(run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()), e => e!["type"]!.GetValue<string>() == "timer_fired");
    }

    [ServerFact]
    public async Task A_timer_fired_from_several_pollers_at_once_takes_one_turn()
    {
        // On a shared store, a second server on the same database; on SQLite, whose file one process owns, the one.
        await using var other = store is SqliteStoreUnderTest ? null : new SessionsFactory(null, settings, clock);
        other?.CreateClient();
        var runId = (await client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        clock.Advance(TimeSpan.FromMinutes(1));

        var pollers = new[] { factory, other ?? factory, factory, other ?? factory }.Select(f => f.Services.GetRequiredService<RunWork>());
        var fired = await Task.WhenAll(pollers.Select(poller => Task.Run(() => poller.RunDueAsync(default))));
        Assert.Equal(1, fired.Sum());
        var run = await RunAsync(runId);
        Assert.Equal(2, run["turn_number"]!.GetValue<int>());
        Assert.Single(run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()), e => e!["type"]!.GetValue<string>() == "wait_timeout");
    }

    [ServerFact]
    public async Task The_background_poller_fires_a_due_timer_by_itself()
    {
        var polling = new Dictionary<string, string?>(settings) { ["Sessions:Workers:PollMilliseconds"] = "200" };
        await using var server = new SessionsFactory(null, polling, clock);
        var polled = server.CreateClient();
        var runId = (await polled.StartAsync(await polled.UploadAsync(Reminder)))["run_id"]!.GetValue<string>();
        clock.Advance(TimeSpan.FromSeconds(61));
        await Eventually.TrueAsync(async () => (await (await polled.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>() == "paused", "the poller fired the timer");
    }

    private async Task<JsonObject> RunAsync(string runId) => await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();

    private static JsonArray Events(JsonObject run, int turn) =>
        run["turns"]!.AsArray().Single(t => t!["turn_number"]!.GetValue<int>() == turn)!["events"]!.AsArray();
}

public sealed class SqliteTimerTests() : TimerTests(new SqliteStoreUnderTest());

public sealed class PostgresTimerTests() : TimerTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoTimerTests() : TimerTests(new MongoStoreUnderTest());
