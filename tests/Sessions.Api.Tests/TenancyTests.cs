using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Sessions.Api.Security;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Two tenants on one server, on every store: every endpoint that acts on more than one run (purge, cancel by ids and
/// by workflow, batches, lists, counts, label filters) and every endpoint that names another tenant's run, workflow or
/// batch, each checked from both sides. One tenant's request never reads, counts, changes or erases the other's
/// runs; the scheduled purge, which no caller asks for, is the only one that crosses tenants, and only for runs past
/// their grace period or retention.
/// </summary>
/// <param name="withTokens">Every person signs in with a token of a loopback issuer (<see cref="TestIssuer"/>) instead of an API key.</param>
public abstract class TenancyTests(StoreUnderTest store, bool withTokens = false) : IAsyncLifetime
{
    private const string Greeter = """
        { "name": "Greeter", "start": "ask", "retention_days": 7, "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
          { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
          { "id": "done", "type": "end", "output": "{{name}}" } ] }
        """;

    private static readonly (string Key, string Tenant, string Principal, string Role)[] Keys =
    [
        ("acme-admin-key-0123456789", "acme", "alice", "admin"),
        ("acme-editor-key-0123456789", "acme", "erin", "editor"),
        ("globex-admin-key-0123456789", "globex", "bob", "admin"),
        ("globex-editor-key-0123456789", "globex", "gina", "editor"),
    ];

    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly TestIssuer? issuer = withTokens ? new TestIssuer() : null;
    private Dictionary<string, string?> settings = null!;
    private SessionsFactory factory = null!;

    public async Task InitializeAsync()
    {
        settings = await store.SettingsAsync();
        foreach (var (key, value) in issuer?.Settings() ?? [])
        {
            settings[key] = value;
        }

        for (var i = 0; i < Keys.Length && issuer is null; i++)
        {
            settings[$"Sessions:Auth:ApiKeys:{i}:Sha256"] = ApiKeyAuthentication.Hash(Keys[i].Key);
            settings[$"Sessions:Auth:ApiKeys:{i}:Tenant"] = Keys[i].Tenant;
            settings[$"Sessions:Auth:ApiKeys:{i}:Principal"] = Keys[i].Principal;
            settings[$"Sessions:Auth:ApiKeys:{i}:Role"] = Keys[i].Role;
        }

        settings["Sessions:Purge:DeletedGraceHours"] = "24";
        settings["Sessions:Purge:IntervalMinutes"] = "0";
        settings["Sessions:RateLimit:PermitsPerSecond"] = "0";
        settings["Sessions:Webhooks:AllowPrivateNetworks"] = "true";

        // The clock moves on by days: the periodic services these tests do not use are off (a fake clock fires a
        // periodic timer once per period it passes).
        settings["Sessions:Workers:PollMilliseconds"] = "0";
        settings["Sessions:Webhooks:PollMilliseconds"] = "0";
        settings["Sessions:Reaper:IntervalSeconds"] = "0";
        settings["Sessions:Batches:PollMilliseconds"] = "0";
        settings["Sessions:Idempotency:RetentionHours"] = "720";
        factory = new SessionsFactory(null, settings, clock);
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
        issuer?.Dispose();
    }

    /// <summary>What one tenant has: a workflow, a run deleted now, a finished run whose retention runs out in 7 days, and a waiting run.</summary>
    private sealed record Tenant(string Workflow, string Deleted, string Finished, string Waiting);

    private async Task<Tenant> TenantAsync(string admin, string label)
    {
        var client = As(admin);
        var workflow = await client.UploadAsync(Greeter);
        var deleted = await StartAsync(client, workflow, label);
        var finished = await StartAsync(client, workflow, label);
        await client.ReplyAsync(workflow, finished, "Ada");
        var waiting = await StartAsync(client, workflow, label);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/runs/{deleted}")).StatusCode);
        return new Tenant(workflow, deleted, finished, waiting);
    }

    private static async Task<string> StartAsync(HttpClient client, string workflow, string label) =>
        (await client.StartAsync(workflow, new { metadata = new { ticket = label } }))["run_id"]!.GetValue<string>();

    [ServerFact]
    public async Task Each_tenants_admin_purges_only_its_own_deleted_and_expired_runs_and_counts_nothing_of_the_other()
    {
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");

        // Eight days on, both tenants' finished runs are past their retention; both deleted runs past their grace.
        clock.Advance(TimeSpan.FromDays(8));
        var purged = await As("bob").PostAsync("/v1/runs/purge", null);
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Equal(2, (await purged.ReadObjectAsync())["purged_runs"]!.GetValue<int>());
        foreach (var gone in new[] { globex.Deleted, globex.Finished })
        {
            Assert.Equal(0, (await store.RowsOfRunAsync(factory, gone)).Values.Sum());
        }

        // Acme's runs are all there, its deleted one still readable by its admin, as the grace period promises.
        foreach (var kept in new[] { acme.Deleted, acme.Finished, acme.Waiting })
        {
            Assert.True((await store.RowsOfRunAsync(factory, kept))["runs"] == 1, $"acme's run {kept} was erased by globex's purge");
        }

        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/runs/{acme.Deleted}?include_deleted=true")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/runs/{acme.Finished}")).StatusCode);

        // A second purge by globex finds nothing: acme's due runs are not counted as its own.
        Assert.Equal(0, (await (await As("bob").PostAsync("/v1/runs/purge", null)).ReadObjectAsync())["purged_runs"]!.GetValue<int>());
        Assert.Equal(2, (await (await As("alice").PostAsync("/v1/runs/purge", null)).ReadObjectAsync())["purged_runs"]!.GetValue<int>());
        Assert.Equal(0, (await store.RowsOfRunAsync(factory, acme.Deleted)).Values.Sum());
        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/runs/{acme.Waiting}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As("bob").GetAsync($"/v1/runs/{globex.Waiting}")).StatusCode);
    }

    [ServerFact]
    public async Task An_admins_purge_in_the_grace_period_erases_its_own_deleted_runs_and_leaves_the_other_tenants()
    {
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");
        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(1, (await (await As("alice").PostAsync("/v1/runs/purge", null)).ReadObjectAsync())["purged_runs"]!.GetValue<int>());
        Assert.Equal(0, (await store.RowsOfRunAsync(factory, acme.Deleted)).Values.Sum());
        Assert.Equal(HttpStatusCode.OK, (await As("bob").GetAsync($"/v1/runs/{globex.Deleted}?include_deleted=true")).StatusCode);
        Assert.Equal(1, (await store.RowsOfRunAsync(factory, globex.Finished))["runs"]);
    }

    [ServerFact]
    public async Task The_scheduled_purge_crosses_tenants_only_for_runs_past_their_grace_period_or_retention()
    {
        await factory.DisposeAsync();
        factory = new SessionsFactory(null, new Dictionary<string, string?>(settings) { ["Sessions:Purge:IntervalMinutes"] = "60" }, clock);
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");

        // Within the grace period and the retention, every run of both tenants stays through the hourly purges.
        for (var hour = 0; hour < 23; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
        }

        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/runs/{acme.Deleted}?include_deleted=true")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As("bob").GetAsync($"/v1/runs/{globex.Deleted}?include_deleted=true")).StatusCode);

        // Past the grace period, both tenants' deleted runs go; past the retention, both tenants' finished runs.
        clock.Advance(TimeSpan.FromHours(2));
        await Eventually.TrueAsync(
            async () => (await store.RowsOfRunAsync(factory, acme.Deleted)).Values.Sum() + (await store.RowsOfRunAsync(factory, globex.Deleted)).Values.Sum() == 0,
            "the scheduled purge erased both tenants' deleted runs");
        Assert.Equal(1, (await store.RowsOfRunAsync(factory, acme.Finished))["runs"]);
        Assert.Equal(1, (await store.RowsOfRunAsync(factory, globex.Finished))["runs"]);
        for (var hour = 0; hour < 24 * 7; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
        }

        await Eventually.TrueAsync(
            async () => (await store.RowsOfRunAsync(factory, acme.Finished)).Values.Sum() + (await store.RowsOfRunAsync(factory, globex.Finished)).Values.Sum() == 0,
            "the scheduled purge erased both tenants' expired runs");
        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/runs/{acme.Waiting}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As("bob").GetAsync($"/v1/runs/{globex.Waiting}")).StatusCode);
    }

    [ServerFact]
    public async Task Cancelling_by_ids_or_by_workflow_never_reaches_the_other_tenants_runs()
    {
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");

        var byIds = await (await As("gina").PostAsync("/v1/runs/cancel", Http.Json($$"""{"run_ids":["{{acme.Waiting}}","{{acme.Finished}}","{{globex.Waiting}}"]}"""))).ReadObjectAsync();
        Assert.Equal(
            ["not_found", "not_found", "cancelled"],
            byIds["results"]!.AsArray().Select(r => r!["outcome"]!.GetValue<string>()));
        await AssertProblemAsync(
            await As("bob").PostAsync("/v1/runs/cancel", Http.Json($$"""{"workflow_id":"{{acme.Workflow}}"}""")), HttpStatusCode.NotFound, "workflow_not_found");
        Assert.Equal("waiting_for_user_input", await StatusAsync("alice", acme.Waiting));

        // Acme's own cancel by workflow cancels acme's run, and nothing of globex's.
        var globexRunning = await StartAsync(As("bob"), globex.Workflow, "T-2");
        var byWorkflow = await (await As("alice").PostAsync("/v1/runs/cancel", Http.Json($$"""{"workflow_id":"{{acme.Workflow}}"}"""))).ReadObjectAsync();
        Assert.Equal([acme.Waiting], byWorkflow["results"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()));
        Assert.Equal("waiting_for_user_input", await StatusAsync("bob", globexRunning));
    }

    [ServerFact]
    public async Task Lists_counts_and_label_filters_hold_only_the_callers_tenants_runs()
    {
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");

        foreach (var (admin, own) in new[] { ("alice", acme), ("bob", globex) })
        {
            var client = As(admin);
            Assert.Equal(new[] { own.Finished, own.Waiting }.Order(), (await RunIdsAsync(client, "/v1/runs?metadata.ticket=T-1")).Order());
            Assert.Equal(new[] { own.Deleted, own.Finished, own.Waiting }.Order(), (await RunIdsAsync(client, "/v1/runs?include_deleted=true&limit=100")).Order());
            Assert.Equal(new[] { own.Finished, own.Waiting }.Order(), (await RunIdsAsync(client, $"/v1/workflows/{own.Workflow}/runs")).Order());
            Assert.Equal(2, (await (await client.GetAsync("/v1/runs/stats")).ReadObjectAsync())["total"]!.GetValue<long>());
            Assert.Equal(2, (await (await client.GetAsync($"/v1/runs/stats?workflow_id={own.Workflow}")).ReadObjectAsync())["total"]!.GetValue<long>());
            Assert.Equal(3, (await (await client.GetAsync("/v1/runs/stats?include_deleted=true")).ReadObjectAsync())["total"]!.GetValue<long>());
            var workflows = (await (await client.GetAsync("/v1/workflows?include_deleted=true&limit=100")).ReadObjectAsync())["items"]!.AsArray()
                .Select(w => w!["workflow_id"]!.GetValue<string>());
            Assert.Contains(own.Workflow, workflows);
            Assert.DoesNotContain(own == acme ? globex.Workflow : acme.Workflow, workflows);
        }

        // Another tenant's workflow, named in a filter, matches nothing; named in a path, does not exist.
        Assert.Empty(await RunIdsAsync(As("bob"), $"/v1/runs?workflow_id={acme.Workflow}"));
        Assert.Equal(0, (await (await As("bob").GetAsync($"/v1/runs/stats?workflow_id={acme.Workflow}")).ReadObjectAsync())["total"]!.GetValue<long>());
        await AssertProblemAsync(await As("bob").GetAsync($"/v1/workflows/{acme.Workflow}/runs"), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await As("bob").GetAsync($"/v1/workflows/{acme.Workflow}/runs/stats"), HttpStatusCode.NotFound, "workflow_not_found");
    }

    [ServerFact]
    public async Task Another_tenants_batches_and_workflows_cannot_be_read_started_or_cancelled()
    {
        var acme = await TenantAsync("alice", "T-1");
        await TenantAsync("bob", "T-1");
        var created = await As("alice").PostAsync($"/v1/workflows/{acme.Workflow}/batches", Http.Json("""[{"name":"a"},{"name":"b"}]"""));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var batch = (await created.ReadObjectAsync())["batch_id"]!.GetValue<string>();

        await AssertProblemAsync(await As("bob").PostAsync($"/v1/workflows/{acme.Workflow}/batches", Http.Json("""[{"name":"a"}]""")), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await As("bob").GetAsync($"/v1/batches/{batch}"), HttpStatusCode.NotFound, "batch_not_found");
        await AssertProblemAsync(await As("bob").GetAsync($"/v1/batches/{batch}/results"), HttpStatusCode.NotFound, "batch_not_found");
        await AssertProblemAsync(await As("bob").PostAsync($"/v1/batches/{batch}/cancel", null), HttpStatusCode.NotFound, "batch_not_found");
        var seen = await (await As("alice").GetAsync($"/v1/batches/{batch}")).ReadObjectAsync();
        Assert.NotEqual("cancelled", seen["status"]!.GetValue<string>());
        Assert.Equal(2, seen["progress"]!["total"]!.GetValue<int>());

        await AssertProblemAsync(await As("bob").DeleteAsync($"/v1/workflows/{acme.Workflow}"), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await As("bob").PostAsync($"/v1/workflows/{acme.Workflow}/versions", Http.Json(Greeter)), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await As("bob").PostAsync($"/v1/workflows/{acme.Workflow}/versions/0/activate", null), HttpStatusCode.NotFound, "workflow_not_found");
        Assert.Equal(HttpStatusCode.OK, (await As("alice").GetAsync($"/v1/workflows/{acme.Workflow}")).StatusCode);
    }

    [ServerFact]
    public async Task Another_tenants_run_cannot_be_deleted_forked_replayed_or_read_in_any_way()
    {
        var acme = await TenantAsync("alice", "T-1");
        await TenantAsync("bob", "T-1");
        var bob = As("bob");
        foreach (var run in new[] { acme.Waiting, acme.Finished })
        {
            await AssertProblemAsync(await bob.DeleteAsync($"/v1/runs/{run}"), HttpStatusCode.NotFound, "run_not_found");
            await AssertProblemAsync(await bob.PostAsync($"/v1/runs/{run}/fork", Http.Json("""{"turn_number":1}""")), HttpStatusCode.NotFound, "run_not_found");
            await AssertProblemAsync(await bob.PostAsync($"/v1/runs/{run}/replay", Http.Json("{}")), HttpStatusCode.NotFound, "run_not_found");
            foreach (var path in new[] { "", "/turns", "/turns/1", "/turns/1/result", "/events", "/transcript", "/webhook-deliveries" })
            {
                await AssertProblemAsync(await bob.GetAsync($"/v1/runs/{run}{path}?include_deleted=true"), HttpStatusCode.NotFound, "run_not_found");
            }
        }

        await AssertProblemAsync(await bob.GetAsync($"/v1/runs/{acme.Deleted}?include_deleted=true"), HttpStatusCode.NotFound, "run_not_found");
        Assert.Equal("waiting_for_user_input", await StatusAsync("alice", acme.Waiting));
        Assert.Equal(1, (await store.RowsOfRunAsync(factory, acme.Finished))["runs"]);
    }

    [ServerFact]
    public async Task The_same_idempotency_key_in_two_tenants_names_two_turns()
    {
        var acme = await TenantAsync("alice", "T-1");
        var globex = await TenantAsync("bob", "T-1");
        var key = $"k-{Guid.NewGuid():n}";
        var first = await (await As("alice").ExecuteWithKeyAsync(acme.Workflow, key, "{}")).ReadObjectAsync();
        var second = await (await As("bob").ExecuteWithKeyAsync(globex.Workflow, key, "{}")).ReadObjectAsync();
        Assert.NotEqual(first["run_id"]!.GetValue<string>(), second["run_id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await As("bob").GetAsync($"/v1/runs/{second["run_id"]!.GetValue<string>()}")).StatusCode);
        await AssertProblemAsync(await As("bob").GetAsync($"/v1/runs/{first["run_id"]!.GetValue<string>()}"), HttpStatusCode.NotFound, "run_not_found");
    }

    private async Task<string> StatusAsync(string principal, string runId) =>
        (await (await As(principal).GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>();

    private static async Task<string[]> RunIdsAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {await response.Content.ReadAsStringAsync()}");
        return (await response.ReadObjectAsync())["items"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()).ToArray();
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal(code, JsonNode.Parse(body)!["code"]!.GetValue<string>());
    }

    private HttpClient As(string principal)
    {
        var client = factory.CreateClient();
        var person = Keys.Single(k => k.Principal == principal);
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + (issuer?.Token(person.Tenant, person.Principal, person.Role) ?? person.Key));
        return client;
    }
}

public sealed class SqliteTenancyTests() : TenancyTests(new SqliteStoreUnderTest());

public sealed class PostgresTenancyTests() : TenancyTests(new PostgresStoreUnderTest());

public sealed class SqliteTenancyWithTokensTests() : TenancyTests(new SqliteStoreUnderTest(), withTokens: true);

public sealed class PostgresTenancyWithTokensTests() : TenancyTests(new PostgresStoreUnderTest(), withTokens: true);

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoTenancyTests() : TenancyTests(new MongoStoreUnderTest());
