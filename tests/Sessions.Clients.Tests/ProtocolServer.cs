using Sessions.Api.Security;
using Sessions.Testing;

namespace Sessions.Clients.Tests;

/// <summary>Where a protocol test's server keeps its runs.</summary>
public enum Store
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The real server as its own process, on SQLite in a temp folder or on a PostgreSQL database of its own, with two
/// credentials: an editor of the tenant the samples are loaded into, and one of another tenant. They are API keys, or
/// tokens of an OpenID Connect issuer on loopback (the server then has no keys at all).
/// </summary>
public sealed class ProtocolServer : IAsyncDisposable
{
    private const string ApiKey = "sessions-protocol-key";
    private const string OtherTenantApiKey = "sessions-protocol-other-tenant";

    private readonly TempDirectory folder;
    private readonly TestPostgres? database;
    private readonly TestIssuer? issuer;

    private ProtocolServer(ServerProcess process, TempDirectory folder, TestPostgres? database, TestIssuer? issuer)
    {
        Process = process;
        this.folder = folder;
        this.database = database;
        this.issuer = issuer;
        Key = issuer?.Token(DefaultTenant, "frontend", "editor") ?? ApiKey;
        OtherTenantKey = issuer?.Token("other-tenant", "stranger", "editor") ?? OtherTenantApiKey;
    }

    /// <summary>The tenant the samples are loaded into.</summary>
    public const string DefaultTenant = "default";

    public ServerProcess Process { get; }

    /// <summary>An editor's credential of the tenant the samples are loaded into.</summary>
    public string Key { get; }

    /// <summary>A credential of another tenant.</summary>
    public string OtherTenantKey { get; }

    public string Url => Process.Address.ToString().TrimEnd('/');

    /// <summary>What a client script needs to find the server: its address and both keys.</summary>
    public Dictionary<string, string> Environment => new()
    {
        ["SESSIONS_URL"] = Url,
        ["SESSIONS_KEY"] = Key,
        ["SESSIONS_OTHER_KEY"] = OtherTenantKey,
    };

    public static Task<ProtocolServer> StartAsync(Store store, params string[] settings) => StartAsync(store, withTokens: false, settings);

    public static async Task<ProtocolServer> StartAsync(Store store, bool withTokens, params string[] settings)
    {
        var folder = new TempDirectory();
        var database = store == Store.Postgres ? await TestPostgres.CreateAsync() : null;
        var issuer = withTokens ? new TestIssuer() : null;
        string[] storeSettings = database is null ? [] : ["--Sessions:Store=postgres", $"--Sessions:Postgres:ConnectionString={database.ConnectionString}"];
        string[] credentials = issuer is null
            ?
            [
                .. KeySettings(0, ApiKey, DefaultTenant, "frontend", "editor"),
                .. KeySettings(1, OtherTenantApiKey, "other-tenant", "stranger", "editor"),
            ]
            : [.. issuer.Settings().Select(s => $"--{s.Key}={s.Value}")];
        var process = await ServerProcess.StartAsync(folder.File("sessions.db"), [.. storeSettings, .. credentials, .. settings]);
        return new ProtocolServer(process, folder, database, issuer);
    }

    private static string[] KeySettings(int index, string key, string tenant, string principal, string role) =>
    [
        $"--Sessions:Auth:ApiKeys:{index}:Sha256={ApiKeyAuthentication.Hash(key)}",
        $"--Sessions:Auth:ApiKeys:{index}:Tenant={tenant}",
        $"--Sessions:Auth:ApiKeys:{index}:Principal={principal}",
        $"--Sessions:Auth:ApiKeys:{index}:Role={role}",
    ];

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        if (database is not null)
        {
            await database.DisposeAsync();
        }

        folder.Dispose();
        issuer?.Dispose();
    }
}
