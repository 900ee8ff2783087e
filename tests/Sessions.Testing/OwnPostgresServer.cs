using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sessions.Testing;

/// <summary>
/// A PostgreSQL server of the test's own, from Debian's binaries (which `.ci/run` installs), in a temporary folder on
/// a free loopback port: for tests that stop and start the database under a running Sessions server, which the shared
/// server the other tests use must never be. Runs as the `postgres` user when the tests run as root (PostgreSQL refuses
/// root); trusts local connections, so its connection string has no password.
/// </summary>
public sealed class OwnPostgresServer : IAsyncDisposable
{
    private readonly string bin;
    private readonly string folder;
    private readonly int port;

    private OwnPostgresServer(string bin, string folder, int port)
    {
        this.bin = bin;
        this.folder = folder;
        this.port = port;
    }

    public string ConnectionString => $"Host=127.0.0.1;Port={port};Username=sessions;Database=postgres;Timeout=3;Command Timeout=5";

    private string Data => Path.Combine(folder, "data");

    private static bool Root => Environment.UserName == "root";

    public static async Task<OwnPostgresServer> StartAsync()
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        var bin = versions.Select(v => Path.Combine(v, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderBy(b => b, StringComparer.Ordinal).LastOrDefault()
            ?? throw new InvalidOperationException("This test starts a PostgreSQL server of its own from Debian's binaries (/usr/lib/postgresql/*/bin): run `bash .ci/run` once, which installs them.");
        var folder = Path.Combine(Path.GetTempPath(), $"sessions-pg-{Guid.NewGuid():n}");
        Directory.CreateDirectory(folder);
        if (Root)
        {
            await RunAsync("chown", ["postgres:postgres", folder]);
        }

        var server = new OwnPostgresServer(bin, folder, FreePort());
        await server.AsServerUserAsync("initdb", ["-D", server.Data, "-A", "trust", "-U", "sessions", "-E", "UTF8", "--no-sync"]);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again), waiting until it accepts connections.</summary>
    public Task StartAgainAsync() => AsServerUserAsync(
        "pg_ctl",
        ["-D", Data, "-l", Path.Combine(folder, "server.log"), "-w", "-o", $"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]);

    /// <summary>Stops the server, closing every connection, as an operator's `pg_ctl stop` would.</summary>
    public Task StopAsync() => AsServerUserAsync("pg_ctl", ["-D", Data, "-m", "fast", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsServerUserAsync("pg_ctl", ["-D", Data, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(folder, recursive: true);
    }

    private Task AsServerUserAsync(string tool, IReadOnlyList<string> arguments) =>
        Root ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, tool), .. arguments]) : RunAsync(Path.Combine(bin, tool), arguments);

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited {process.ExitCode}: {await errors}{await output}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
