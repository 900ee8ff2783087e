using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Sessions.Api.Security;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>API keys, roles and tenants against the real server: every refusal a problem, every other tenant's id a 404.</summary>
public abstract class AuthTests : IAsyncLifetime
{
    private const string Workflow = """
        { "name": "Greeter", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
          { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
          { "id": "done", "type": "end" } ] }
        """;

    private static readonly (string Key, string Tenant, string Principal, string Role)[] Keys =
    [
        ("acme-admin-key-0123456789", "acme", "alice", "admin"),
        ("acme-editor-key-0123456789", "acme", "erin", "editor"),
        ("acme-viewer-key-0123456789", "acme", "victor", "viewer"),
        ("acme-viewer2-key-0123456789", "acme", "vera", "viewer"),
        ("globex-admin-key-0123456789", "globex", "bob", "admin"),
    ];

    private readonly TestIssuer? issuer;
    private readonly SessionsFactory factory;

    /// <param name="withTokens">Every person signs in with a token of a loopback issuer instead of an API key.</param>
    protected AuthTests(bool withTokens)
    {
        issuer = withTokens ? new TestIssuer() : null;
        factory = new(null, issuer is null ? Settings() : issuer.Settings());
    }
    private string workflowId = null!;

    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < Keys.Length; i++)
        {
            settings[$"Sessions:Auth:ApiKeys:{i}:Sha256"] = ApiKeyAuthentication.Hash(Keys[i].Key);
            settings[$"Sessions:Auth:ApiKeys:{i}:Tenant"] = Keys[i].Tenant;
            settings[$"Sessions:Auth:ApiKeys:{i}:Principal"] = Keys[i].Principal;
            settings[$"Sessions:Auth:ApiKeys:{i}:Role"] = Keys[i].Role;
        }

        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    public async Task InitializeAsync() => workflowId = await As("alice").UploadAsync(Workflow);

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        issuer?.Dispose();
    }

    [Fact]
    public async Task Requests_without_a_valid_key_are_401_problems_and_health_stays_open()
    {
        var anonymous = factory.CreateClient();
        foreach (var (client, what) in new[] { (anonymous, "none"), (WithHeader("Bearer not-a-key"), "unknown"), (WithHeader("Basic YWxpY2U6eA=="), "basic") })
        {
            var response = await client.GetAsync("/v1/workflows");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, what);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("unauthorized", (await response.ReadObjectAsync())["code"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.ExecuteAsync(workflowId, new { })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task An_idempotency_key_is_its_principals_own_and_another_viewer_never_gets_its_answer()
    {
        var body = """{"run_input":{"dynamic_variables":{"note":"same body"}}}""";
        var victors = await As("victor").ExecuteWithKeyAsync(workflowId, "shared-key-1", body);
        var victorRun = (await victors.ReadObjectAsync())["run_id"]!.GetValue<string>();

        // The same key and body from another viewer of the tenant: its own turn, its own run, nothing of victor's.
        var veras = await As("vera").ExecuteWithKeyAsync(workflowId, "shared-key-1", body);
        Assert.Equal(HttpStatusCode.OK, veras.StatusCode);
        Assert.False(veras.Headers.Contains("Idempotent-Replayed"));
        var veraRun = (await veras.ReadObjectAsync())["run_id"]!.GetValue<string>();
        Assert.NotEqual(victorRun, veraRun);
        Assert.Equal("vera", (await (await As("vera").GetAsync($"/v1/runs/{veraRun}")).ReadObjectAsync())["run_by"]!.GetValue<string>());

        // Each still gets its own answer again on a retry.
        var again = await As("victor").ExecuteWithKeyAsync(workflowId, "shared-key-1", body);
        Assert.True(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(victorRun, (await again.ReadObjectAsync())["run_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_viewer_starts_runs_as_itself_and_sees_only_those()
    {
        var victor = As("victor");
        var vera = As("vera");
        var own = await victor.StartAsync(workflowId);
        var runId = own["run_id"]!.GetValue<string>();
        var veraRun = (await vera.StartAsync(workflowId))["run_id"]!.GetValue<string>();

        var read = await (await victor.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal("victor", read["run_by"]!.GetValue<string>());
        Assert.Equal([runId], (await (await victor.GetAsync("/v1/runs")).ReadObjectAsync())["items"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()));
        Assert.Equal(2, (await (await As("erin").GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());

        // Another viewer's run is missing, on every road to it.
        foreach (var path in new[] { $"/v1/runs/{veraRun}", $"/v1/runs/{veraRun}/events", $"/v1/runs/{veraRun}/transcript", $"/v1/runs/{veraRun}/events/stream" })
        {
            await AssertProblemAsync(await victor.GetAsync(path), HttpStatusCode.NotFound, "run_not_found");
        }

        var before = await As("alice").GetStringAsync($"/v1/runs/{veraRun}");
        await AssertProblemAsync(await victor.ExecuteAsync(workflowId, new { run_id = veraRun, run_input = new { user_message = "Victor" } }), HttpStatusCode.NotFound, "run_not_found");
        Assert.Equal(before, await As("alice").GetStringAsync($"/v1/runs/{veraRun}"));

        await AssertProblemAsync(await victor.GetAsync("/v1/runs?run_by=vera"), HttpStatusCode.Forbidden, "forbidden");
        await AssertProblemAsync(await victor.ExecuteAsync(workflowId, new { run_input = new { run_by = "vera" } }), HttpStatusCode.Forbidden, "forbidden");
        await AssertProblemAsync(await victor.GetAsync("/v1/runs/stats"), HttpStatusCode.Forbidden, "forbidden");
        await AssertProblemAsync(await victor.PostAsync("/v1/workflows", Http.Json(Workflow)), HttpStatusCode.Forbidden, "forbidden");
        await AssertProblemAsync(await victor.PostAsync($"/v1/runs/{runId}/fork", Http.Json("""{"turn_number":1}""")), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.OK, (await victor.GetAsync($"/v1/workflows/{workflowId}")).StatusCode);
        Assert.Equal("completed", (await victor.ReplyAsync(workflowId, runId, "Victor"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Editors_cancel_by_id_and_only_admins_cancel_a_whole_workflow()
    {
        var runId = (await As("erin").StartAsync(workflowId))["run_id"]!.GetValue<string>();
        Assert.Equal("erin", (await (await As("erin").GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["run_by"]!.GetValue<string>());
        await AssertProblemAsync(await As("erin").PostAsync("/v1/runs/cancel", Http.Json($$"""{"workflow_id":"{{workflowId}}"}""")), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal("waiting_for_user_input", (await (await As("erin").GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>());

        var cancelled = await As("alice").PostAsync("/v1/runs/cancel", Http.Json($$"""{"workflow_id":"{{workflowId}}"}"""));
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled", (await (await As("erin").GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Editors_evaluate_and_activate_and_only_admins_force_a_version_past_its_evaluation_gate()
    {
        var gated = await As("alice").UploadAsync("""
            { "name": "Gated", "start": "ask", "evaluation_gate": { "max_diverged_percent": 0 }, "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var added = await As("erin").PostAsync($"/v1/workflows/{gated}/versions?activate=false", Http.Json("""
            { "name": "Gated", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Your name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        await As("victor").StartAsync(gated);

        await AssertProblemAsync(await As("victor").PostAsync($"/v1/workflows/{gated}/versions/1/evaluations", Http.Json("{}")), HttpStatusCode.Forbidden, "forbidden");
        await AssertProblemAsync(await As("erin").PostAsync($"/v1/workflows/{gated}/versions/1/activate", null), HttpStatusCode.Conflict, "evaluation_required");
        await AssertProblemAsync(await As("erin").PostAsync($"/v1/workflows/{gated}/versions/1/activate?force=true", null), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(0, (await (await As("erin").GetAsync($"/v1/workflows/{gated}")).ReadObjectAsync())["active_version"]!.GetValue<int>());

        var forced = await As("alice").PostAsync($"/v1/workflows/{gated}/versions/1/activate?force=true", null);
        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        Assert.Equal("alice", (await forced.ReadObjectAsync())["forced_activations"]![0]!["by"]!.GetValue<string>());
    }

    [Fact]
    public async Task Another_tenants_workflows_and_runs_do_not_exist_nor_do_their_neighbours()
    {
        var runId = (await As("alice").StartAsync(workflowId))["run_id"]!.GetValue<string>();
        var bob = As("bob");
        await AssertProblemAsync(await bob.GetAsync($"/v1/workflows/{workflowId}"), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await bob.ExecuteAsync(workflowId, new { }), HttpStatusCode.NotFound, "workflow_not_found");
        await AssertProblemAsync(await bob.ExecuteAsync(workflowId, new { run_id = runId, run_input = new { user_message = "x" } }), HttpStatusCode.NotFound, "workflow_not_found");
        Assert.Equal(0, (await (await bob.GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());
        var cancel = await (await bob.PostAsync("/v1/runs/cancel", Http.Json($$"""{"run_ids":["{{runId}}"]}"""))).ReadObjectAsync();
        Assert.Equal("not_found", cancel["results"]!.AsArray().Single()!["outcome"]!.GetValue<string>());

        // Ids one counter step either side of a real one (same second, same random part): guessed, and still nothing.
        foreach (var id in new[] { runId, Neighbour(runId, -1), Neighbour(runId, +1) })
        {
            foreach (var path in new[] { $"/v1/runs/{id}", $"/v1/runs/{id}/events", $"/v1/runs/{id}/transcript" })
            {
                await AssertProblemAsync(await bob.GetAsync(path), HttpStatusCode.NotFound, "run_not_found");
            }
        }

        foreach (var id in new[] { Neighbour(runId, -1), Neighbour(runId, +1) })
        {
            await AssertProblemAsync(await As("alice").GetAsync($"/v1/runs/{id}"), HttpStatusCode.NotFound, "run_not_found");
        }

        foreach (var id in new[] { Neighbour(workflowId, -1), Neighbour(workflowId, +1) })
        {
            await AssertProblemAsync(await bob.GetAsync($"/v1/workflows/{id}"), HttpStatusCode.NotFound, "workflow_not_found");
        }

        Assert.Equal("waiting_for_user_input", (await (await As("alice").GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_openapi_document_declares_the_bearer_scheme_and_the_401_and_429_answers()
    {
        var document = JsonNode.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json"))!;
        var scheme = document["components"]!["securitySchemes"]!["api_key"]!;
        Assert.Equal(("http", "bearer"), (scheme["type"]!.GetValue<string>(), scheme["scheme"]!.GetValue<string>()));
        Assert.Equal("api_key", document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["security"]![0]!.AsObject().Single().Key);
        Assert.NotNull(document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["responses"]!["401"]);
        Assert.NotNull(document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["responses"]!["429"]);
    }

    [Fact]
    public async Task Each_key_has_its_own_rate_limit_answered_429_with_retry_after()
    {
        var settings = issuer?.Settings() ?? Settings();
        (settings["Sessions:RateLimit:PermitsPerSecond"], settings["Sessions:RateLimit:Burst"]) = ("1", "3");
        await using var limited = new SessionsFactory(null, settings);
        HttpClient Key(string principal)
        {
            var client = limited.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Credential(principal));
            return client;
        }

        var alice = Key("alice");
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await alice.GetAsync("/v1/workflows");
            statuses.Add(response.StatusCode);
            refused ??= response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.NotNull(refused);
        Assert.True(refused.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        Assert.Equal("rate_limited", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await Key("bob").GetAsync("/v1/workflows")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await limited.CreateClient().GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Without_keys_the_server_refuses_to_listen_beyond_loopback_and_says_why()
    {
        using var folder = new TempDirectory();
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync("--urls=http://0.0.0.0:5999", $"--Sessions:Sqlite:Path={folder.File("s.db")}");
        Assert.Equal(2, exitCode);
        Assert.Contains("Refusing to listen on http://0.0.0.0:5999: no API keys (Sessions:Auth:ApiKeys) and no token issuer are configured", output);
        Assert.False(File.Exists(folder.File("s.db")));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://localhost:5080;http://[::1]:5081", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://192.168.1.10:5080", false)]
    [InlineData("http://example.com:5080", false)]
    public void The_listen_guard_knows_loopback_from_the_rest(string urls, bool loopback)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls }).Build();
        Assert.Equal(loopback, ListenGuard.NonLoopbackAddresses(configuration).Count == 0);
        var ports = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["http_ports"] = "8080" }).Build();
        Assert.Single(ListenGuard.NonLoopbackAddresses(ports));
    }

    private static string Neighbour(string objectId, int step)
    {
        var counter = int.Parse(objectId[18..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) + step;
        return objectId[..18] + (counter & 0xFFFFFF).ToString("x6", CultureInfo.InvariantCulture);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.RequestMessage!.RequestUri}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(code, JsonNode.Parse(body)!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deleting_is_for_editors_and_seeing_deleted_runs_and_purging_for_admins_of_the_same_tenant()
    {
        var run = (await As("victor").StartAsync(workflowId))["run_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Forbidden, (await As("victor").DeleteAsync($"/v1/runs/{run}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await As("bob").DeleteAsync($"/v1/runs/{run}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await As("erin").DeleteAsync($"/v1/runs/{run}")).StatusCode);

        foreach (var (principal, status) in new[] { ("victor", HttpStatusCode.Forbidden), ("erin", HttpStatusCode.Forbidden), ("bob", HttpStatusCode.NotFound), ("alice", HttpStatusCode.OK) })
        {
            var response = await As(principal).GetAsync($"/v1/runs/{run}?include_deleted=true");
            Assert.True(status == response.StatusCode, $"{principal}: {response.StatusCode}");
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await As("erin").PostAsync("/v1/runs/purge", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As("victor").DeleteAsync($"/v1/workflows/{workflowId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As("erin").GetAsync("/v1/workflows?include_deleted=true")).StatusCode);
        var purged = await As("alice").PostAsync("/v1/runs/purge", null);
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await As("alice").GetAsync($"/v1/runs/{run}?include_deleted=true")).StatusCode);
    }

    private HttpClient As(string principal) => WithHeader("Bearer " + Credential(principal));

    /// <summary>The person's API key, or a token the issuer signed with the same tenant, principal and role.</summary>
    private string Credential(string principal)
    {
        var person = Keys.Single(k => k.Principal == principal);
        return issuer?.Token(person.Tenant, person.Principal, person.Role) ?? person.Key;
    }

    private HttpClient WithHeader(string authorization)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        return client;
    }
}

public sealed class ApiKeyAuthTests() : AuthTests(withTokens: false);

/// <summary>The role suite with tokens: what a key's role permits, a token's role permits, and nothing more.</summary>
public sealed class TokenAuthTests() : AuthTests(withTokens: true);
