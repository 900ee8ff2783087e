using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Turns;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>Per-turn limits, and the reaper that ends runs nobody came back to.</summary>
public sealed class LimitsAndReaperTests
{
    [Fact]
    public async Task Oversized_requests_are_refused_with_their_limit_and_change_nothing()
    {
        await using var factory = new SessionsFactory(null, new()
        {
            ["Sessions:Turns:MaxUserMessageChars"] = "10",
            ["Sessions:Turns:MaxVariablesBytes"] = "1024",
        });
        var client = factory.CreateClient();
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var before = await client.GetStringAsync($"/v1/runs/{runId}");

        var longMessage = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = new string('1', 11) } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, longMessage.StatusCode);
        var problem = await longMessage.ReadObjectAsync();
        Assert.Equal(("user_message_too_long", 10), (problem["code"]!.GetValue<string>(), problem["limit_chars"]!.GetValue<int>()));

        var bigVariables = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456", dynamic_variables = new { blob = new string('x', 2000) } } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bigVariables.StatusCode);
        Assert.Equal("variables_too_large", (await bigVariables.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(before, await client.GetStringAsync($"/v1/runs/{runId}"));
    }

    [Fact]
    public async Task A_turn_that_passes_the_event_or_variable_limit_fails_its_run_at_a_node_boundary()
    {
        await using var factory = new SessionsFactory(null, new()
        {
            ["Sessions:Turns:MaxEventsPerTurn"] = "12",
            ["Sessions:Turns:MaxVariablesBytes"] = "1024",
        });
        var client = factory.CreateClient();
        var chatty = await client.UploadAsync("""
            { "name": "Chatty", "start": "a", "nodes": [
              { "id": "a", "type": "say", "text": "1", "next": "b" }, { "id": "b", "type": "say", "text": "2", "next": "c" },
              { "id": "c", "type": "say", "text": "3", "next": "d" }, { "id": "d", "type": "say", "text": "4", "next": "e" },
              { "id": "e", "type": "say", "text": "5", "next": "done" }, { "id": "done", "type": "end" } ] }
            """);
        var answer = await client.StartAsync(chatty);
        Assert.Equal("failed", answer["status"]!.GetValue<string>());
        Assert.StartsWith("The turn recorded 1", answer["error"]!.GetValue<string>());
        Assert.InRange(answer["events"]!.AsArray().Count, 12, 18);
        var run = await (await client.GetAsync($"/v1/runs/{answer["run_id"]}")).ReadObjectAsync();
        Assert.Equal("limits", run["termination_source"]!.GetValue<string>());

        await using var roomy = new SessionsFactory(null, new() { ["Sessions:Turns:MaxVariablesBytes"] = "1024" });
        client = roomy.CreateClient();
        var growing = await client.UploadAsync("""
            { "name": "Growing", "start": "grow", "variables": { "text": "x" }, "nodes": [
              { "id": "grow", "type": "set", "assign": { "text": "{{text}}{{text}}" }, "next": "check" },
              { "id": "check", "type": "branch", "cases": [ { "when": { "var": "text", "op": "eq", "value": "never" }, "next": "done" } ], "default": "grow" },
              { "id": "done", "type": "end" } ] }
            """);
        var grown = await client.StartAsync(growing);
        Assert.Equal("failed", grown["status"]!.GetValue<string>());
        Assert.Contains("variables grew to", grown["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_reaper_cancels_runs_left_waiting_past_the_age_and_leaves_paused_ones()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new SessionsFactory(null, new()
        {
            ["Sessions:Reaper:IntervalSeconds"] = "60",
            ["Sessions:Reaper:MaxInactiveHours"] = "1",
        }, clock);
        var client = factory.CreateClient();
        var waiting = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var paused = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = paused, run_input = new { command = "pause" } })).StatusCode);

        // Within the age, a sweep leaves it waiting; past it, the next sweep cancels it.
        clock.Advance(TimeSpan.FromMinutes(59));
        var sweeps = factory.Services.GetRequiredService<StaleRunReaper>();
        Assert.Equal(0, await sweeps.SweepAsync(default));
        Assert.Equal("waiting_for_user_input", (await (await client.GetAsync($"/v1/runs/{waiting}")).ReadObjectAsync())["status"]!.GetValue<string>());

        clock.Advance(TimeSpan.FromMinutes(2));
        JsonObject run = null!;
        await Eventually.TrueAsync(
            async () => (run = await (await client.GetAsync($"/v1/runs/{waiting}")).ReadObjectAsync())["status"]!.GetValue<string>() == "cancelled",
            "the timed sweep cancelled the run");

        Assert.Equal(("cancelled", "stale_run_reaper"), (run["status"]!.GetValue<string>(), run["termination_source"]!.GetValue<string>()));
        var cancelled = run["turns"]!.AsArray()[^1]!["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "cancelled")!;
        Assert.StartsWith("no turn for more than", cancelled["reason"]!.GetValue<string>());
        Assert.Equal("paused", (await (await client.GetAsync($"/v1/runs/{paused}")).ReadObjectAsync())["status"]!.GetValue<string>());
    }
}
