using System.Diagnostics;
using System.Text.RegularExpressions;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// The server as a newcomer runs it: its own process on Kestrel, loopback only, configured by its appsettings.json.
/// Killing it with SIGKILL between turns must lose nothing that was answered.
/// </summary>
public sealed partial class ServerProcessTests
{
    [Fact]
    public async Task The_real_server_prints_ready_curl_lines_and_a_killed_server_loses_no_answered_turn()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        string runId;
        long lastSeq;

        await using (var first = await ServerProcess.StartAsync(database))
        {
            Assert.StartsWith("http://127.0.0.1:", first.Address.ToString());
            foreach (var id in new[] { SessionsFactory.OrderStatus, SessionsFactory.SupportTicket, SessionsFactory.AppointmentBooking })
            {
                Assert.Contains($"curl -s -X POST {first.Address.ToString().TrimEnd('/')}/v1/workflows/{id}/execute -H 'Content-Type: application/json' -d '{{}}'", first.Output);
            }

            var client = first.Client;
            runId = (await client.StartAsync(SessionsFactory.SupportTicket))["run_id"]!.GetValue<string>();
            await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "Ada Lovelace");
            var answered = await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "ada@example.com");
            lastSeq = answered["events"]!.AsArray()[^1]!["seq"]!.GetValue<long>();
            first.Kill();
        }

        await using var second = await ServerProcess.StartAsync(database);
        var next = await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "billing");
        Assert.Equal(4, next["turn_number"]!.GetValue<int>());
        Assert.Equal(lastSeq + 1, next["events"]!.AsArray()[0]!["seq"]!.GetValue<long>());
        await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "no");
        var done = await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "yes");
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal(6, done["turn_number"]!.GetValue<int>());
    }

    /// <summary>One server process, started the way it is deployed: `dotnet Sessions.Api.dll` in its own folder.</summary>
    private sealed partial class ServerProcess : IAsyncDisposable
    {
        private readonly Process process;
        private readonly List<string> lines = [];

        private ServerProcess(Process process, Uri address)
        {
            this.process = process;
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

        public static async Task<ServerProcess> StartAsync(string databasePath)
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                WorkingDirectory = AppContext.BaseDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Sessions.Api.dll"));
            start.ArgumentList.Add("--urls=http://127.0.0.1:0");
            start.ArgumentList.Add($"--Sessions:Sqlite:Path={databasePath}");
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

            var process = Process.Start(start)!;
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
            var server = new ServerProcess(process, address);
            lock (collected)
            {
                server.lines.AddRange(collected);
            }

            return server;
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

        [GeneratedRegex(@"Now listening on: (http://\S+)")]
        private static partial Regex ListeningLine();
    }
}
