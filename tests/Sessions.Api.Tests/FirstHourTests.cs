using System.Net;
using System.Net.Http.Headers;
using Sessions.Api.Samples;
using Sessions.Api.Security;

namespace Sessions.Api.Tests;

/// <summary>What a newcomer meets following the README: samples behind API keys, version numbers, errors that name every field.</summary>
public sealed class FirstHourTests : IDisposable
{
    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public FirstHourTests() => client = factory.CreateClient(new() { AllowAutoRedirect = false });

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task With_api_keys_the_samples_are_in_every_keyed_tenant_and_the_readme_curl_line_works()
    {
        using var keyed = WithKeys(("acme-key-0123456789", "acme", "editor"), ("globex-key-0123456789", "globex", "viewer"));
        var acme = keyed.CreateClient();
        acme.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "acme-key-0123456789");
        var globex = keyed.CreateClient();
        globex.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "globex-key-0123456789");

        // The first keyed tenant has the samples under the ids the README prints.
        var started = await acme.ExecuteAsync(SessionsFactory.OrderStatus, new { });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        Assert.Equal("waiting_for_user_input", (await started.ReadObjectAsync())["status"]!.GetValue<string>());

        // Another tenant has its own copy under its own id, the one the banner prints for it.
        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}")).StatusCode);
        var own = SampleWorkflows.IdIn(SessionsFactory.OrderStatus, "globex", firstTenant: false);
        Assert.Equal(HttpStatusCode.OK, (await globex.ExecuteAsync(own, new { })).StatusCode);
        Assert.Contains(keyed.Logs, line => line.Contains($"(tenant globex): {own}", StringComparison.Ordinal) && line.Contains("Authorization: Bearer $KEY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_version_number_at_the_top_of_the_body_is_honoured_and_the_query_still_wins()
    {
        var workflowId = await client.UploadAsync("""{ "name": "V", "start": "a", "nodes": [ { "id": "a", "type": "end", "output": "v0" } ] }""");
        var added = await client.PostAsync($"/v1/workflows/{workflowId}/versions", Http.Json("""{ "name": "V", "start": "a", "nodes": [ { "id": "a", "type": "end", "output": "v1" } ] }"""));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);

        async Task<int> VersionOf(object body, string? query = null) =>
            (await (await client.ExecuteAsync(workflowId, body, query)).ReadObjectAsync())["events"]!.AsArray()[0]!["version_number"]!.GetValue<int>();

        Assert.Equal(1, await VersionOf(new { }));
        Assert.Equal(0, await VersionOf(new { version_number = 0 }));
        Assert.Equal(0, await VersionOf(new { version_number = 0, run_input = new { version_number = 0 } }));
        Assert.Equal(1, await VersionOf(new { version_number = 0 }, "?version_number=1"));

        var both = await client.ExecuteAsync(workflowId, new { version_number = 0, run_input = new { version_number = 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal("invalid_version_number", (await both.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_malformed_run_id_is_named_with_every_other_wrong_field()
    {
        var response = await client.PostAsync(
            $"/v1/workflows/{SessionsFactory.OrderStatus}/execute",
            Http.Json("""{"run_id":"665f1c2a","expected_turn":"x","run_input":{"user_message":1,"run_by":[]}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadObjectAsync();
        Assert.Equal("malformed_id", problem["code"]!.GetValue<string>());
        // Each once: those of the wrong JSON type first, in the body's order, then the string that is no ObjectId.
        Assert.Equal(
            ["$.expected_turn", "$.run_input.user_message", "$.run_input.run_by", "$.run_id"],
            problem["errors"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_root_leads_to_the_console()
    {
        var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Refused_keys_are_logged_at_debug_not_information()
    {
        using var keyed = WithKeys(("acme-key-0123456789", "acme", "viewer"));
        var anonymous = keyed.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/workflows")).StatusCode);
        var viewer = keyed.CreateClient();
        viewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "acme-key-0123456789");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/v1/runs/stats")).StatusCode);

        var refusals = keyed.Logs.Where(line => line.Contains(typeof(ApiKeyAuthentication).FullName!, StringComparison.Ordinal)).ToList();
        Assert.Contains(refusals, line => line.StartsWith("Debug", StringComparison.Ordinal) && line.Contains("challenged", StringComparison.Ordinal));
        Assert.Contains(refusals, line => line.StartsWith("Debug", StringComparison.Ordinal) && line.Contains("forbidden", StringComparison.Ordinal));
        Assert.DoesNotContain(refusals, line => line.StartsWith("Information", StringComparison.Ordinal));
    }

    /// <summary>A server with these API keys configured as the README shows, each with its own principal.</summary>
    private static SessionsFactory WithKeys(params (string Key, string Tenant, string Role)[] keys)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < keys.Length; i++)
        {
            settings[$"Sessions:Auth:ApiKeys:{i}:Sha256"] = ApiKeyAuthentication.Hash(keys[i].Key);
            settings[$"Sessions:Auth:ApiKeys:{i}:Tenant"] = keys[i].Tenant;
            settings[$"Sessions:Auth:ApiKeys:{i}:Principal"] = $"{keys[i].Tenant}-{keys[i].Role}";
            settings[$"Sessions:Auth:ApiKeys:{i}:Role"] = keys[i].Role;
        }

        return new SessionsFactory(null, settings);
    }
}
