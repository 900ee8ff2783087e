using System.Net;
using System.Text.Json.Nodes;
using Sessions.Api.Security;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// An identity provider's tokens beside API keys, against an OpenID Connect issuer on loopback (<see cref="TestIssuer"/>):
/// its tokens map to tenant, principal and role (from a role claim or from scopes); every kind of bad token is a `401`
/// that says what is wrong, as RFC 6750 has it; a valid token the server cannot place is a `403` naming what is
/// missing; a rotated key is taken without a restart; API keys keep working. Tenancy and roles with tokens are the
/// tenancy and role suites themselves, run with tokens (<see cref="SqliteTenancyWithTokensTests"/>, <see cref="TokenAuthTests"/>).
/// </summary>
public sealed class TokenTests : IAsyncLifetime
{
    private const string Workflow = """
        { "name": "Greeter", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
          { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
          { "id": "done", "type": "end" } ] }
        """;

    private const string AcmeKey = "acme-key-for-tokens-0123456789";

    private readonly TestIssuer issuer = new();
    private SessionsFactory factory = null!;

    public Task InitializeAsync()
    {
        var settings = issuer.Settings();
        settings["Sessions:Auth:Jwt:Scopes:0:Scope"] = "workflows:write";
        settings["Sessions:Auth:Jwt:Scopes:0:Role"] = "editor";
        settings["Sessions:Auth:ApiKeys:0:Sha256"] = ApiKeyAuthentication.Hash(AcmeKey);
        settings["Sessions:Auth:ApiKeys:0:Tenant"] = "acme";
        settings["Sessions:Auth:ApiKeys:0:Principal"] = "key-holder";
        settings["Sessions:Auth:ApiKeys:0:Role"] = "admin";
        settings["Sessions:RateLimit:PermitsPerSecond"] = "0";
        factory = new SessionsFactory(null, settings);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        issuer.Dispose();
    }

    [Fact]
    public async Task A_token_is_its_tenant_principal_and_role_and_keys_still_work_beside_tokens()
    {
        var editor = With(issuer.Token("acme", "erin@acme", "editor"));
        var workflowId = await editor.UploadAsync(Workflow);
        var run = await editor.StartAsync(workflowId);
        var runId = run["run_id"]!.GetValue<string>();
        Assert.Equal("erin@acme", (await (await editor.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["run_by"]!.GetValue<string>());

        // An EC-signed token of the same issuer, a viewer: it starts runs as itself and sees only those.
        var viewer = With(issuer.Token("acme", "vic@acme", "viewer", issuer.Ec));
        var own = (await viewer.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync($"/v1/runs/{runId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/v1/runs/{own}")).StatusCode);
        await AssertForbiddenAsync(await viewer.PostAsync("/v1/workflows", Http.Json(Workflow)), "role does not permit");

        // The API key of the same tenant sees both runs; another tenant's token sees neither.
        var key = With(AcmeKey);
        Assert.Equal(2, (await (await key.GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());
        var globex = With(issuer.Token("globex", "gina@globex", "admin"));
        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/runs/{runId}")).StatusCode);
        Assert.Equal(0, (await (await globex.GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());

        // A token may come as x-api-key too, as LangGraph's SDK sends its key.
        var viaHeader = factory.CreateClient();
        viaHeader.DefaultRequestHeaders.Add("x-api-key", issuer.Token("acme", "erin@acme", "editor"));
        Assert.Equal(HttpStatusCode.OK, (await viaHeader.GetAsync($"/v1/runs/{runId}")).StatusCode);
    }

    [Fact]
    public async Task Scopes_grant_roles_when_there_is_no_role_claim_the_products_and_configured_ones()
    {
        string Scoped(string scope, string claim = "scope") =>
            issuer.Token(new Dictionary<string, object> { ["tenant"] = "acme", ["sub"] = $"app-{scope}", [claim] = scope });

        Assert.Equal(HttpStatusCode.Created, (await With(Scoped("openid sessions:write")).PostAsync("/v1/workflows", Http.Json(Workflow))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await With(Scoped("workflows:write", "scp")).PostAsync("/v1/workflows", Http.Json(Workflow))).StatusCode);
        var reader = With(Scoped("sessions:read"));
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/workflows")).StatusCode);
        await AssertForbiddenAsync(await reader.PostAsync("/v1/workflows", Http.Json(Workflow)), "role does not permit");
    }

    [Fact]
    public async Task A_valid_token_that_names_no_tenant_or_no_role_is_a_403_that_says_which()
    {
        var noTenant = issuer.Token(new Dictionary<string, object> { ["sub"] = "someone", ["role"] = "admin" });
        await AssertForbiddenAsync(await With(noTenant).GetAsync("/v1/workflows"), "'tenant' claim");
        var noRole = issuer.Token(new Dictionary<string, object> { ["tenant"] = "acme", ["sub"] = "someone", ["role"] = "owner", ["scope"] = "openid profile" });
        await AssertForbiddenAsync(await With(noRole).GetAsync("/v1/workflows"), "grants no role");
        var noSubject = issuer.Token(new Dictionary<string, object> { ["tenant"] = "acme", ["role"] = "admin" });
        await AssertForbiddenAsync(await With(noSubject).GetAsync("/v1/workflows"), "'sub' claim");
    }

    [Fact]
    public async Task Every_bad_token_is_a_401_that_says_what_is_wrong_with_it_and_changes_nothing()
    {
        var workflowId = await With(AcmeKey).UploadAsync(Workflow);
        var claims = new Dictionary<string, object> { ["tenant"] = "acme", ["sub"] = "mallory", ["role"] = "admin" };
        var stranger = new Microsoft.IdentityModel.Tokens.RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = "rsa-1" };
        var bad = new (string What, string Token, string Says)[]
        {
            ("expired", issuer.Token(claims, expires: DateTime.UtcNow.AddMinutes(-10), notBefore: DateTime.UtcNow.AddMinutes(-20)), "expired"),
            ("not yet valid", issuer.Token(claims, notBefore: DateTime.UtcNow.AddMinutes(10), expires: DateTime.UtcNow.AddMinutes(40)), "not valid before"),
            ("wrong audience", issuer.Token(claims, audience: "another-api"), "audience"),
            ("wrong issuer", issuer.Token(claims, issuer: "https://impostor.example"), "issuer"),
            ("alg none", issuer.Unsigned("acme", "mallory", "admin"), ""),
            ("HS256 keyed with the public key", issuer.SignedWithPublicKeyAsSecret("acme", "mallory", "admin"), ""),
            ("unknown key", issuer.Token(claims, stranger), "signature"),
            ("unknown key id", issuer.Token(claims, new Microsoft.IdentityModel.Tokens.RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = "nobody" }), "key"),
        };
        foreach (var (what, token, says) in bad)
        {
            var response = await With(token).PostAsync($"/v1/workflows/{workflowId}/execute", Http.Json("{}"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode} {body}");
            var challenge = response.Headers.WwwAuthenticate.Single();
            Assert.Equal("Bearer", challenge.Scheme);
            Assert.Contains("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
            var problem = JsonNode.Parse(body)!;
            Assert.Equal("unauthorized", problem["code"]!.GetValue<string>());
            Assert.Contains(says, problem["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(token, body, StringComparison.Ordinal);
        }

        Assert.Equal(0, (await (await With(AcmeKey).GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());

        // No token anywhere in the logs, and nothing about the refusals above debug.
        var logged = factory.Logs.ToList();
        foreach (var (what, token, _) in bad)
        {
            Assert.DoesNotContain(logged, line => line.Contains(token, StringComparison.Ordinal) || line.Contains(token.Split('.')[1], StringComparison.Ordinal));
        }

        Assert.DoesNotContain(
            logged.Where(line => !line.StartsWith("Debug", StringComparison.Ordinal) && !line.StartsWith("Trace", StringComparison.Ordinal)),
            line => line.Contains("JwtBearer", StringComparison.Ordinal) || line.Contains("SecurityToken", StringComparison.Ordinal) || line.Contains("IDX1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rotated_signing_key_is_taken_without_a_restart()
    {
        var before = With(issuer.Token("acme", "erin@acme", "editor"));
        Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/v1/workflows")).StatusCode);
        var reads = issuer.JwksReads;

        // The issuer publishes a new key and signs with it: the server, not knowing the key, reads the keys again.
        var rotated = issuer.Rotate();
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var after = With(issuer.Token("acme", "erin@acme", "editor", rotated));
        var first = await after.GetAsync("/v1/workflows");
        Assert.True(first.StatusCode == HttpStatusCode.OK, $"{(int)first.StatusCode}: {await first.Content.ReadAsStringAsync()}");
        Assert.True(issuer.JwksReads > reads, "the keys were read again");
        Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/v1/workflows")).StatusCode);
    }

    [Fact]
    public void An_issuer_configuration_that_would_take_tokens_unsafely_is_refused_at_startup()
    {
        Assert.Null(new JwtOptions { Authority = "https://login.example.com/tenant/v2.0", Audience = "api://sessions" }.Problem());
        Assert.Null(new JwtOptions { Authority = "http://127.0.0.1:8080/realms/dev", Audience = "sessions", RequireHttpsMetadata = false }.Problem());
        Assert.Contains("Audience", new JwtOptions { Authority = "https://login.example.com" }.Problem(), StringComparison.Ordinal);
        Assert.Contains("not HTTPS", new JwtOptions { Authority = "http://login.example.com", Audience = "a", RequireHttpsMetadata = false }.Problem(), StringComparison.Ordinal);
        Assert.Contains("not HTTPS", new JwtOptions { Authority = "http://127.0.0.1:8080", Audience = "a" }.Problem(), StringComparison.Ordinal);
        Assert.Contains("HS256", new JwtOptions { Authority = "https://login.example.com", Audience = "a", Algorithms = ["RS256", "HS256"] }.Problem(), StringComparison.Ordinal);
        Assert.Contains("owner", new JwtOptions { Authority = "https://login.example.com", Audience = "a", Scopes = [new ScopeRole { Scope = "x:y", Role = "owner" }] }.Problem(), StringComparison.Ordinal);
    }

    private static async Task AssertForbiddenAsync(HttpResponseMessage response, string says)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        var problem = JsonNode.Parse(body)!;
        Assert.Equal("forbidden", problem["code"]!.GetValue<string>());
        Assert.Contains(says, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private HttpClient With(string credential)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + credential);
        return client;
    }
}
