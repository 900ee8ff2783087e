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
/// API keys: an editor of the tenant the samples are loaded into, and one of another tenant.
/// </summary>
public sealed class ProtocolServer : IAsyncDisposable
{
    public const string Key = "sessions-protocol-key";
    public const string OtherTenantKey = "sessions-protocol-other-tenant";

    private readonly TempDirectory folder;
    private readonly TestPostgres? database;

    private ProtocolServer(ServerProcess process, TempDirectory folder, TestPostgres? database)
    {
        Process = process;
        this.folder = folder;
        this.database = database;
    }

    public ServerProcess Process { get; }

    public string Url => Process.Address.ToString().TrimEnd('/');

    /// <summary>What a client script needs to find the server: its address and both keys.</summary>
    public Dictionary<string, string> Environment => new()
    {
        ["SESSIONS_URL"] = Url,
        ["SESSIONS_KEY"] = Key,
        ["SESSIONS_OTHER_KEY"] = OtherTenantKey,
    };

    public static async Task<ProtocolServer> StartAsync(Store store, params string[] settings)
    {
        var folder = new TempDirectory();
        var database = store == Store.Postgres ? await TestPostgres.CreateAsync() : null;
        string[] storeSettings = database is null ? [] : ["--Sessions:Store=postgres", $"--Sessions:Postgres:ConnectionString={database.ConnectionString}"];
        var process = await ServerProcess.StartAsync(
            folder.File("sessions.db"),
            [
                .. storeSettings,
                .. KeySettings(0, Key, "default", "frontend", "editor"),
                .. KeySettings(1, OtherTenantKey, "other-tenant", "stranger", "editor"),
                .. settings,
            ]);
        return new ProtocolServer(process, folder, database);
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
    }
}
