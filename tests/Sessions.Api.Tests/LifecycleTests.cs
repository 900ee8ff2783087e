using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// The end of stored runs, through HTTP on every store: deleting runs and workflows (hidden at once, seen by admins who
/// ask), retention_days, and purges that erase a run with everything stored for it, checked table by table in the
/// database itself. The clock is a FakeTimeProvider the test moves on.
/// </summary>
public abstract class LifecycleTests(StoreUnderTest store) : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    private const string Greeter = """
        { "name": "Greeter", "start": "ask", "retention_days": 7, "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
          { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
          { "id": "done", "type": "end", "output": "{{name}}" } ] }
        """;

    private Dictionary<string, string?> settings = null!;

    public async Task InitializeAsync()
    {
        settings = await store.SettingsAsync();
        settings["Sessions:Purge:DeletedGraceHours"] = "24";

        // Purges only when asked, so that a test sees what each purge erased; the scheduled one has a test of its own.
        settings["Sessions:Purge:IntervalMinutes"] = "0";
        settings["Sessions:Webhooks:AllowPrivateNetworks"] = "true";

        // The clock moves on by days: a fake clock fires a periodic timer once per period it passes, so the services
        // these tests do not use are off.
        settings["Sessions:Workers:PollMilliseconds"] = "0";
        settings["Sessions:Webhooks:PollMilliseconds"] = "0";
        settings["Sessions:Reaper:IntervalSeconds"] = "0";
        settings["Sessions:Batches:PollMilliseconds"] = "0";

        // Keys outlive the days this test moves on, so that only erasing their run can remove them.
        settings["Sessions:Idempotency:RetentionHours"] = "720";
        factory = new SessionsFactory(null, settings, clock);
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task A_deleted_run_is_hidden_everywhere_takes_no_turns_and_admins_see_it_when_they_ask()
    {
        var workflow = await client.UploadAsync(Greeter);
        var gone = (await client.StartAsync(workflow, new { metadata = new { ticket = "T-1" } }))["run_id"]!.GetValue<string>();
        var kept = (await client.StartAsync(workflow, new { metadata = new { ticket = "T-1" } }))["run_id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/runs/{gone}")).StatusCode);
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{gone}"), HttpStatusCode.NotFound, "run_not_found");
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{gone}/events"), HttpStatusCode.NotFound, "run_not_found");
        await AssertProblemAsync(await client.ExecuteAsync(workflow, new { run_id = gone, run_input = new { user_message = "Ada" } }), HttpStatusCode.NotFound, "run_not_found");
        await AssertProblemAsync(await client.PostAsync($"/v1/runs/{gone}/fork", Http.Json("""{ "turn_number": 1 }""")), HttpStatusCode.NotFound, "run_not_found");
        await AssertProblemAsync(await client.DeleteAsync($"/v1/runs/{gone}"), HttpStatusCode.NotFound, "run_not_found");

        Assert.Equal([kept], await RunIdsAsync("/v1/runs?metadata.ticket=T-1"));
        Assert.Equal(1, (await (await client.GetAsync($"/v1/workflows/{workflow}/runs/stats")).ReadObjectAsync())["total"]!.GetValue<long>());

        // An admin who asks sees it, marked; it stays as it was.
        Assert.Equal(new[] { gone, kept }.Order(), (await RunIdsAsync("/v1/runs?metadata.ticket=T-1&include_deleted=true")).Order());
        var seen = await (await client.GetAsync($"/v1/runs/{gone}?include_deleted=true")).ReadObjectAsync();
        Assert.Equal(("waiting_for_user_input", clock.GetUtcNow().UtcDateTime), (seen["status"]!.GetValue<string>(), seen["deleted_at"]!.GetValue<DateTime>()));
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{gone}?include_deleted=maybe"), HttpStatusCode.BadRequest, "invalid_request");

        // The run left alone goes on.
        Assert.Equal("completed", (await client.ReplyAsync(workflow, kept, "Ada"))["status"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task A_deleted_workflow_starts_no_runs_while_its_runs_go_on_and_lists_filter_by_name()
    {
        var workflow = await client.UploadAsync(Greeter.Replace("Greeter", "Greeter 100%"));
        var other = await client.UploadAsync(Greeter.Replace("Greeter", "Order status Zqx"));
        var running = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/workflows/{workflow}")).StatusCode);
        await AssertProblemAsync(await client.GetAsync($"/v1/workflows/{workflow}"), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await client.ExecuteAsync(workflow, new { run_input = new { } }), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await client.ExecuteAsync(workflow, new { run_input = new { }, version_number = 0 }), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await client.DeleteAsync($"/v1/workflows/{workflow}"), HttpStatusCode.NotFound, "workflow_not_found");
        var shown = await (await client.GetAsync($"/v1/workflows/{workflow}?include_deleted=true")).ReadObjectAsync();
        Assert.Equal(clock.GetUtcNow().UtcDateTime, shown["deleted_at"]!.GetValue<DateTime>());

        // Its run is still read and still answered.
        Assert.Equal("completed", (await client.ReplyAsync(workflow, running, "Ada"))["status"]!.GetValue<string>());
        Assert.Equal("Ada", (await (await client.GetAsync($"/v1/runs/{running}")).ReadObjectAsync())["output"]!.GetValue<string>());

        async Task<string[]> ListAsync(string query) =>
            (await (await client.GetAsync($"/v1/workflows{query}")).ReadObjectAsync())["items"]!.AsArray().Select(w => w!["workflow_id"]!.GetValue<string>()).ToArray();
        Assert.DoesNotContain(workflow, await ListAsync("?limit=100"));
        Assert.Contains(workflow, await ListAsync("?limit=100&include_deleted=true"));
        Assert.Equal([other], await ListAsync("?q=status%20ZQX"));
        Assert.Equal([workflow], await ListAsync("?q=0%25&include_deleted=true"));
    }

    [ServerFact]
    public async Task A_purge_erases_expired_and_deleted_runs_with_every_row_they_had_and_nothing_else()
    {
        var receiver = await WebhookReceiver.StartAsync("unused");
        await using var _ = receiver;
        var workflow = await client.UploadAsync(Greeter);
        async Task<string> FinishedAsync(string key)
        {
            var started = await client.ExecuteWithKeyAsync(workflow, key, $$"""{ "run_input": { "metadata": { "k": "{{key}}" }, "webhook_url": "{{receiver.Address}}hook" } }""");
            var runId = (await started.ReadObjectAsync())["run_id"]!.GetValue<string>();
            await client.ReplyAsync(workflow, runId, "Ada");
            return runId;
        }

        var expiring = await FinishedAsync($"k-{Guid.NewGuid():n}");
        clock.Advance(TimeSpan.FromDays(2));
        var deleted = await FinishedAsync($"k-{Guid.NewGuid():n}");
        var kept = await FinishedAsync($"k-{Guid.NewGuid():n}");
        var waiting = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        Assert.All(
            (await store.RowsOfRunAsync(factory, expiring)).Where(t => t.Key is not ("run_files" or "file_chunks")),
            table => Assert.True(table.Value > 0, $"{table.Key} holds no rows of the run before the purge"));
        var expires = (await (await client.GetAsync($"/v1/runs/{expiring}")).ReadObjectAsync())["expires_at"]!.GetValue<DateTime>();
        Assert.Equal(clock.GetUtcNow().AddDays(-2).AddDays(7).UtcDateTime, expires, TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/runs/{deleted}")).StatusCode);

        // Nothing is due yet: the deleted run is in its grace period for a scheduled purge, the finished ones kept 7 days.
        clock.Advance(TimeSpan.FromHours(1));
        Assert.All((await store.RowsOfRunAsync(factory, deleted)).Where(t => t.Key is not ("run_files" or "file_chunks")), table => Assert.True(table.Value > 0, table.Key));

        // Six days on, the first run's retention has run out; an admin's purge also takes every deleted run.
        clock.Advance(TimeSpan.FromDays(5));
        var purged = await (await client.PostAsync("/v1/runs/purge", null)).ReadObjectAsync();
        Assert.Equal(2, purged["purged_runs"]!.GetValue<int>());
        foreach (var gone in new[] { expiring, deleted })
        {
            Assert.All(await store.RowsOfRunAsync(factory, gone), table => Assert.True(table.Value == 0, $"{table.Key} still holds {table.Value} row(s) of run {gone}"));
            await AssertProblemAsync(await client.GetAsync($"/v1/runs/{gone}?include_deleted=true"), HttpStatusCode.NotFound, "run_not_found");
        }

        foreach (var stays in new[] { kept, waiting })
        {
            var rows = await store.RowsOfRunAsync(factory, stays);
            Assert.True(rows.Where(r => r.Key is not ("idempotency_keys" or "webhook_deliveries" or "run_labels" or "run_files" or "file_chunks")).All(r => r.Value > 0), $"run {stays} lost rows");
        }

        Assert.Equal(0, (await (await client.PostAsync("/v1/runs/purge", null)).ReadObjectAsync())["purged_runs"]!.GetValue<int>());
    }

    [ServerFact]
    public async Task The_scheduled_purge_erases_deleted_runs_once_their_grace_period_ends()
    {
        await factory.DisposeAsync();
        factory = new SessionsFactory(null, new Dictionary<string, string?>(settings) { ["Sessions:Purge:IntervalMinutes"] = "60" }, clock);
        client = factory.CreateClient();
        var workflow = await client.UploadAsync(Greeter);
        var deleted = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/runs/{deleted}")).StatusCode);

        // Each hour the purge looks; within the 24 hours' grace the run stays for admins to see.
        for (var hour = 0; hour < 23; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/runs/{deleted}?include_deleted=true")).StatusCode);
        clock.Advance(TimeSpan.FromHours(2));
        await Eventually.TrueAsync(
            async () => (await store.RowsOfRunAsync(factory, deleted)).Values.Sum() == 0,
            "the scheduled purge erased the deleted run");
    }

    private async Task<string[]> RunIdsAsync(string path) =>
        (await (await client.GetAsync(path)).ReadObjectAsync())["items"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()).ToArray();

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }
}

public sealed class SqliteLifecycleTests() : LifecycleTests(new SqliteStoreUnderTest());

public sealed class PostgresLifecycleTests() : LifecycleTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoLifecycleTests() : LifecycleTests(new MongoStoreUnderTest());
