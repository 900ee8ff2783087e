using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Sessions.Testing;

/// <summary>One server process, started the way it is deployed: `dotnet Sessions.Api.dll` in its own folder.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly List<string> lines;

    private ServerProcess(Process process, Uri address, List<string> lines)
    {
        this.process = process;
        this.lines = lines;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public string Output
    {
        get
        {
            lock (lines)
            {
                return string.Join('\n', lines);
            }
        }
    }

    /// <summary>Starts the server on a free loopback port; <paramref name="settings"/> are more `--Key=value` arguments.</summary>
    public static async Task<ServerProcess> StartAsync(string databasePath, params string[] settings)
    {
        var process = Process.Start(StartInfo(["--urls=http://127.0.0.1:0", $"--Sessions:Sqlite:Path={databasePath}", .. settings]))!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collected = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException($"The server exited:\n{string.Join('\n', collected)}"));
                return;
            }

            lock (collected)
            {
                collected.Add(e.Data);
            }

            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }

            if (e.Data.Contains("Application started", StringComparison.Ordinal))
            {
                banner.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (collected)
            {
                collected.Add(e.Data ?? string.Empty);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await banner.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The same list: what the server writes from here on is read by Output too.
        return new ServerProcess(process, address, collected);
    }

    /// <summary>Runs the server with these arguments until it exits by itself (a refused start); its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(params string[] arguments)
    {
        using var process = Process.Start(StartInfo(arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Sessions.Api.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return start;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush; only what was committed survives.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://[^\s""]+)")]
    private static partial Regex ListeningLine();
}
