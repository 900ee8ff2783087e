using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Testing;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Tests;

/// <summary>Two server instances on one shared database, racing on the same runs.</summary>
public abstract class MultiInstanceTests(StoreUnderTest store) : IAsyncLifetime
{
    private Dictionary<string, string?> settings = null!;
    private SessionsFactory first = null!;
    private SessionsFactory second = null!;

    /// <summary>The shared database's settings, for one more instance of a test's own.</summary>
    private Dictionary<string, string?> OnSharedStore() => new(settings);

    public async Task InitializeAsync()
    {
        settings = await store.SettingsAsync();
        first = new SessionsFactory(null, OnSharedStore());
        second = new SessionsFactory(null, OnSharedStore());

        // Both start at once: both migrate and load the samples, and neither trips over the other.
        await Task.WhenAll(Task.Run(() => first.CreateClient()), Task.Run(() => second.CreateClient()));
    }

    public async Task DisposeAsync()
    {
        await first.DisposeAsync();
        await second.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task Racing_turns_from_two_instances_apply_one_at_a_time_with_gap_free_events()
    {
        HttpClient[] clients = [first.CreateClient(), second.CreateClient()];
        var runIds = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            runIds.Add((await clients[i % 2].StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>());
        }

        // 240 replies at once, 30 per run, alternating instances; "000000" is not found, so every applied one asks again.
        var applied = new ConcurrentDictionary<string, int>();
        var statuses = new ConcurrentBag<(int Status, string? Code)>();
        await Task.WhenAll(Enumerable.Range(0, 240).Select(i => Task.Run(async () =>
        {
            var runId = runIds[i % runIds.Count];
            var response = await clients[i % 2].ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "000000" } });
            var body = await response.ReadObjectAsync();
            statuses.Add(((int)response.StatusCode, body["code"]?.GetValue<string>()));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                applied.AddOrUpdate(runId, 1, (_, n) => n + 1);
            }
        })));

        var errors = string.Join("\n", first.Logs.Concat(second.Logs).Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Take(3));
        Assert.All(statuses, s => Assert.True(s is (200, null) or (409, "turn_conflict"), $"{s.Status} {s.Code} {errors}"));
        Assert.Contains(statuses, s => s.Status == 409);
        foreach (var runId in runIds)
        {
            var run = await (await clients[0].GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
            var turns = run["turns"]!.AsArray();
            Assert.Equal(1 + applied.GetValueOrDefault(runId), run["turn_number"]!.GetValue<int>());
            Assert.Equal(run["turn_number"]!.GetValue<int>(), turns.Count);

            var events = (await (await clients[1].GetAsync($"/v1/runs/{runId}/events?limit=1000")).ReadObjectAsync())["events"]!.AsArray();
            Assert.Equal(Enumerable.Range(1, events.Count).Select(n => (long)n), events.Select(e => e!["seq"]!.GetValue<long>()));
            Assert.Equal(Enumerable.Range(1, turns.Count), turns.Select(t => t!["turn_number"]!.GetValue<int>()));
            Assert.Equal(events.Count, turns.Sum(t => t!["events"]!.AsArray().Count));
            Assert.Equal("waiting_for_user_input", run["status"]!.GetValue<string>());
        }
    }

    [ServerFact]
    public async Task Turns_alternating_between_instances_each_apply_although_each_instance_remembers_an_older_run()
    {
        // Each instance remembers the run as it last committed it; the other instance moves it on in between, so every
        // remembered copy is stale by the time it is used, and must be found out and read afresh, never refused.
        HttpClient[] clients = [first.CreateClient(), second.CreateClient()];
        var runId = (await clients[0].StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        for (var turn = 2; turn <= 12; turn++)
        {
            // With expected_turn the stale copy is found out by its turn number; without, by the lease write's version check.
            object body = turn % 4 < 2
                ? new { run_id = runId, expected_turn = turn - 1, run_input = new { user_message = "000000" } }
                : new { run_id = runId, run_input = new { user_message = "000000" } };
            var response = await clients[(turn + 1) % 2].ExecuteAsync(SessionsFactory.OrderStatus, body);
            var answer = await response.ReadObjectAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
            Assert.Equal(turn, answer["turn_number"]!.GetValue<int>());
        }
    }

    [ServerFact]
    public async Task A_nul_character_in_a_filter_or_a_body_is_a_400_not_a_store_error()
    {
        var client = first.CreateClient();
        foreach (var path in new[] { "/v1/runs?run_by=ada%00", "/v1/runs?q=%00", $"/v1/workflows/{SessionsFactory.OrderStatus}/runs?run_by=%00" })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {await response.Content.ReadAsStringAsync()}");
        }

        var nul = await client.PostAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/execute", Http.Json("""{"run_input":{"run_by":"ada\u0000"}}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "malformed_json"), (nul.StatusCode, (await nul.ReadObjectAsync())["code"]!.GetValue<string>()));
    }

    [ServerFact]
    public async Task A_first_turn_retried_on_both_instances_makes_one_run()
    {
        HttpClient[] clients = [first.CreateClient(), second.CreateClient()];
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            clients[i % 2].ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "one-run", """{"run_input":{"run_by":"retrier"}}""")));
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));

        var settled = await clients[1].ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "one-run", """{"run_input":{"run_by":"retrier"}}""");
        var runId = (await settled.ReadObjectAsync())["run_id"]!.GetValue<string>();
        foreach (var ok in answers.Where(a => a.StatusCode == HttpStatusCode.OK))
        {
            Assert.Equal(runId, (await ok.ReadObjectAsync())["run_id"]!.GetValue<string>());
        }

        var runs = await (await clients[0].GetAsync("/v1/runs?run_by=retrier")).ReadObjectAsync();
        Assert.Equal(1, runs["total"]!.GetValue<int>());
    }

    [ServerFact]
    public async Task A_run_held_by_a_dead_turn_is_refused_until_its_lease_expires_then_taken_over()
    {
        // A server of its own whose clock the test moves on, so the dead lease expires without waiting for it.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = new SessionsFactory(null, OnSharedStore(), clock);
        var client = host.CreateClient();
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var store = host.Services.GetRequiredService<IRunStore>();
        var run = (await store.GetAsync("default", runId, default))!;

        // What a server that died mid-turn leaves behind: a lease in the run that nobody renews.
        var lease = new TurnLease("dead-server", clock.GetUtcNow().AddSeconds(30));
        Assert.True((await store.TryReplaceAsync(RunLeases.Taken(run, lease), run.Version, WriteDurability.Provisional, default)).Written);
        var held = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.Conflict, held.StatusCode);
        Assert.Equal("turn_conflict", (await held.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(lease, (await store.GetAsync("default", runId, default))!.Lease);

        clock.Advance(TimeSpan.FromSeconds(31));
        var taken = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
        Assert.Equal(2, (await taken.ReadObjectAsync())["turn_number"]!.GetValue<int>());
        Assert.Null((await store.GetAsync("default", runId, default))!.Lease);
    }

    [ServerFact]
    public async Task A_turn_that_outlives_its_lease_keeps_the_run_and_its_key_by_renewing_them()
    {
        // Two instances of their own on one clock that the test moves on, while the turn's call is held open.
        await using var slow = await LoopbackApi.StartAsync("token");
        var gate = slow.Gate("renew");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var leased = OnSharedStore();
        leased["Sessions:Turns:LeaseSeconds"] = "3";
        await using var working = new SessionsFactory(null, leased, clock);
        await using var other = new SessionsFactory(null, leased, clock);
        var client = working.CreateClient();
        var otherClient = other.CreateClient();
        var workflow = await client.UploadAsync($$$"""
            { "name": "Slow", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Next?", "variable": "message", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{slow.Address}}}gate/renew", "timeout_seconds": 60, "next": "ask" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var reply = $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"one"}}""";
        var turn = client.ExecuteWithKeyAsync(workflow, "renewed", reply);
        await gate.Arrived;

        // Four seconds on a three-second lease, a third at a time; each renewal is seen in the store before time moves on.
        var store = working.Services.GetRequiredService<IRunStore>();
        for (var third = 0; third < 4; third++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var renewedUntil = clock.GetUtcNow().AddSeconds(3);
            await Eventually.TrueAsync(async () => (await store.GetAsync("default", runId, default))?.Lease?.ExpiresAt >= renewedUntil.AddMilliseconds(-1));
        }

        var racing = await otherClient.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = "two" } });
        Assert.Equal("turn_conflict", (await racing.ReadObjectAsync())["code"]!.GetValue<string>());
        var retried = await otherClient.ExecuteWithKeyAsync(workflow, "renewed", reply);
        Assert.Equal("idempotency_key_in_flight", (await retried.ReadObjectAsync())["code"]!.GetValue<string>());

        gate.Open();
        var answer = await turn;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(2, (await answer.ReadObjectAsync())["turn_number"]!.GetValue<int>());
        var replayed = await otherClient.ExecuteWithKeyAsync(workflow, "renewed", reply);
        Assert.Equal(await answer.Content.ReadAsStringAsync(), await replayed.Content.ReadAsStringAsync());
    }

    [ServerFact]
    public async Task A_turn_leases_its_run_only_to_reach_outside_and_reaches_nothing_once_another_turn_moved_the_run_on()
    {
        // Two instances of their own on one clock that the test moves on, so that a turn waits between two nodes for as
        // long as the test needs.
        await using var api = await LoopbackApi.StartAsync("token");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var working = new SessionsFactory(null, OnSharedStore(), clock);
        await using var other = new SessionsFactory(null, OnSharedStore(), clock);
        var (client, otherClient) = (working.CreateClient(), other.CreateClient());
        var workflow = await client.UploadAsync(LateLease(api, "late"));
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var store = working.Services.GetRequiredService<IRunStore>();
        async Task<RunDocument> Stored() => (await store.GetAsync("default", runId, default))!;

        // A turn that stays in memory writes the run once, its commit; one that calls out leases the run first.
        var version = (await Stored()).Version;
        Assert.Equal(2, (await client.ReplyAsync(workflow, runId, "hello"))["turn_number"]!.GetValue<int>());
        Assert.Equal(version + 1, (await Stored()).Version);
        Assert.Equal(3, (await client.ReplyAsync(workflow, runId, "call"))["turn_number"]!.GetValue<int>());
        Assert.Equal((version + 3, null), ((await Stored()).Version, (await Stored()).Lease));
        Assert.Equal(1, api.Calls("late"));

        // A streamed turn leases at once, in memory too: what it streamed could not be taken back if it started again.
        var stream = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflow}/execute/stream")
        {
            Content = Http.Json($$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"hello"}}"""),
        };
        using (var streamed = await client.SendAsync(stream))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            Assert.Contains("\"turn_number\":4,", await streamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal((version + 5, null), ((await Stored()).Version, (await Stored()).Lease));

        // A turn waits between its nodes, in memory and without a lease, while the other instance takes a turn. Its
        // lease write then finds the run moved on: it calls nothing and writes nothing, and it was meant for turn 4.
        var refused = await OvertakenAsync(
            client,
            otherClient,
            clock,
            workflow,
            runId,
            new { run_id = runId, expected_turn = 4, run_input = new { user_message = "wait" } },
            async () => Assert.Null((await Stored()).Lease));
        Assert.Equal((HttpStatusCode.Conflict, "turn_mismatch"), (refused.StatusCode, (await refused.ReadObjectAsync())["code"]!.GetValue<string>()));
        Assert.Equal(1, api.Calls("late"));
        var run = await Stored();
        Assert.Equal((5, null, version + 6), (run.TurnNumber, run.Lease, run.Version));
    }

    [ServerFact]
    public async Task A_turn_that_lost_its_run_before_reaching_outside_is_refused_or_under_enqueue_runs_after_the_winner_calling_out_once()
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var working = new SessionsFactory(null, OnSharedStore(), clock);
        await using var other = new SessionsFactory(null, OnSharedStore(), clock);
        var (client, otherClient) = (working.CreateClient(), other.CreateClient());
        var workflow = await client.UploadAsync(LateLease(api, "lost"));
        foreach (var (policy, status, turnNumber, calls) in new[] { ("reject", HttpStatusCode.Conflict, 2, 0), ("enqueue", HttpStatusCode.OK, 3, 1) })
        {
            // Started on the other instance, so that this one reads the run (no copy of its own to start again from).
            var runId = (await otherClient.StartAsync(workflow))["run_id"]!.GetValue<string>();
            var before = api.Calls("lost");
            var answer = await OvertakenAsync(
                client, otherClient, clock, workflow, runId, new { run_id = runId, run_input = new { user_message = "wait", on_busy = policy } }, () => Task.CompletedTask);
            var body = await answer.ReadObjectAsync();
            Assert.True(answer.StatusCode == status, $"{policy}: {body.ToJsonString()}");
            Assert.Equal(calls, api.Calls("lost") - before);
            var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
            Assert.Equal(turnNumber, run["turn_number"]!.GetValue<int>());
            if (policy == "reject")
            {
                Assert.Equal("turn_conflict", body["code"]!.GetValue<string>());
            }
            else
            {
                // Applied after the turn that won, against the state that turn left.
                Assert.Equal(3, body["turn_number"]!.GetValue<int>());
                Assert.Equal("yes", run["variables"]!["waited"]!.GetValue<string>());
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="body"/>, a "wait" reply of <see cref="LateLease"/>, to <paramref name="client"/>; while that
    /// turn waits in memory, runs <paramref name="whileWaiting"/> and has the other instance take a turn of the run;
    /// then moves the clock on until the first turn answers, and returns its answer.
    /// </summary>
    private static async Task<HttpResponseMessage> OvertakenAsync(
        HttpClient client, HttpClient otherClient, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, string workflow, string runId, object body, Func<Task> whileWaiting)
    {
        var turn = client.ExecuteAsync(workflow, body);
        await Eventually.TrueAsync(async () => (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["progress"] is not null);
        await whileWaiting();
        Assert.Equal(HttpStatusCode.OK, (await otherClient.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = "hello" } })).StatusCode);
        while (!turn.IsCompleted)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.WhenAny(turn, Task.Delay(50));
        }

        return await turn;
    }

    /// <summary>
    /// Replies "call" call out at once, "wait" after a 5 s pause (on the test's clock) in memory, anything else only
    /// steps in memory; calls go to `count/{key}` of <paramref name="api"/>, which counts them.
    /// </summary>
    private static string LateLease(LoopbackApi api, string key) => $$$"""
        { "name": "Late lease", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Next?", "variable": "message", "next": "route" },
          { "id": "route", "type": "branch", "cases": [
            { "when": { "var": "message", "op": "eq", "value": "call" }, "next": "call" },
            { "when": { "var": "message", "op": "eq", "value": "wait" }, "next": "wait" } ], "default": "ask" },
          { "id": "wait", "type": "set", "assign": { "waited": "yes" }, "next": "call",
            "self_loop": { "max_retries": 1, "seconds_between_retries": 5, "while": { "var": "message", "op": "eq", "value": "wait" } } },
          { "id": "call", "type": "http_request", "url": "{{{api.Address}}}count/{{{key}}}", "next": "ask" } ] }
        """;

    [ServerFact]
    public async Task A_stop_sent_to_one_instance_cancels_the_turn_running_on_the_other()
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var (running, stopping) = (first.CreateClient(), second.CreateClient());
        var workflow = await running.UploadAsync($$$"""
            { "name": "Held", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Next?", "variable": "message", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/held", "timeout_seconds": 60, "next": "ask" } ] }
            """);
        var runId = (await running.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var turn = running.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = "one" } });
        await api.Gate("held").Arrived;

        var stop = await stopping.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "stop" } });
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("cancelled", (await stop.ReadObjectAsync())["status"]!.GetValue<string>());

        // The running instance sees its lease taken and stops the call it is in, without the gate ever opening.
        var cancelled = await turn.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.Conflict, cancelled.StatusCode);
        Assert.Equal("turn_cancelled", (await cancelled.ReadObjectAsync())["code"]!.GetValue<string>());
        var run = await (await running.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(("cancelled", 2), (run["status"]!.GetValue<string>(), run["turn_number"]!.GetValue<int>()));
        Assert.Null(run["progress"]);
    }

    [ServerFact]
    public async Task Background_turns_accepted_by_one_instance_are_run_by_the_workers_of_both_each_once()
    {
        // The accepting instance runs no worker; two others share the work.
        var accepting = OnSharedStore();
        accepting["Sessions:Workers:PollMilliseconds"] = "0";
        await using var front = new SessionsFactory(null, accepting);
        var client = front.CreateClient();
        var runIds = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute") { Content = Http.Json("{}") };
            request.Headers.Add("Prefer", "respond-async");
            var accepted = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            runIds.Add((await accepted.ReadObjectAsync())["run_id"]!.GetValue<string>());
        }

        Assert.Equal("running", (await (await client.GetAsync($"/v1/runs/{runIds[^1]}")).ReadObjectAsync())["status"]!.GetValue<string>());
        await Task.WhenAll(first.Services.GetRequiredService<RunWork>().RunDueAsync(default), second.Services.GetRequiredService<RunWork>().RunDueAsync(default));
        foreach (var runId in runIds)
        {
            JsonObject run = null!;
            await Eventually.TrueAsync(
                async () => (run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>() == "waiting_for_user_input",
                $"run {runId} ran its background turn");
            Assert.Equal(1, run["turn_number"]!.GetValue<int>());
            Assert.Single(run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()), e => e!["type"]!.GetValue<string>() == "start_workflow");
        }
    }
}

public sealed class PostgresMultiInstanceTests() : MultiInstanceTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoMultiInstanceTests() : MultiInstanceTests(new MongoStoreUnderTest());
