using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>Two server instances on one PostgreSQL database, racing on the same runs.</summary>
public sealed class MultiInstanceTests : IAsyncLifetime
{
    private TestPostgres database = null!;
    private SessionsFactory first = null!;
    private SessionsFactory second = null!;

    public static Dictionary<string, string?> OnPostgres(string connectionString) => new()
    {
        ["Sessions:Store"] = "postgres",
        ["Sessions:Postgres:ConnectionString"] = connectionString,
        ["Sessions:RateLimit:PermitsPerSecond"] = "0",
    };

    public async Task InitializeAsync()
    {
        database = await TestPostgres.CreateAsync();
        first = new SessionsFactory(null, OnPostgres(database.ConnectionString));
        second = new SessionsFactory(null, OnPostgres(database.ConnectionString));

        // Both start at once: both migrate and load the samples, and neither trips over the other.
        await Task.WhenAll(Task.Run(() => first.CreateClient()), Task.Run(() => second.CreateClient()));
    }

    public async Task DisposeAsync()
    {
        await first.DisposeAsync();
        await second.DisposeAsync();
        await database.DisposeAsync();
    }

    [Fact]
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

    [Fact]
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
}
