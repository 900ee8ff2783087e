using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Sessions.Clients.Tests;

/// <summary>
/// Our reading of LangGraph's protocol, checked against LangGraph's own server rather than against ourselves: the same
/// SDK script (tests/clients/protocol-facts.mjs) runs against Sessions and against `langgraphjs dev` (LangGraph's
/// in-memory Agent Server, `@langchain/langgraph-cli` 1.5.1, on loopback, analytics off) serving equivalent graphs
/// (tests/clients/reference/graphs.mjs), and what each shows a client must be the same.
/// </summary>
public sealed class LangGraphReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sessions_shows_a_langgraph_client_what_langgraphs_own_server_shows()
    {
        await using var server = await ProtocolServer.StartAsync(Store.Sqlite);
        var sessions = await FactsAsync(new() { ["PROTOCOL_URL"] = server.Url, ["SESSIONS_KEY"] = server.Key });

        await using var reference = await ReferenceServer.StartAsync();
        var langGraph = await FactsAsync(new() { ["PROTOCOL_URL"] = reference.Url });

        output.WriteLine($"Sessions:\n{sessions}\nLangGraph's server:\n{langGraph}");
        var differences = ((JsonObject)langGraph).Select(p => p.Key)
            .Union(((JsonObject)sessions).Select(p => p.Key))
            .Where(name => !JsonNode.DeepEquals(sessions[name], langGraph[name]))
            .Select(name => $"{name}: Sessions {sessions[name]?.ToJsonString() ?? "(none)"}, LangGraph {langGraph[name]?.ToJsonString() ?? "(none)"}")
            .ToList();
        Assert.True(((JsonObject)sessions).Count >= 40, "the script reported too few facts to compare");
        Assert.True(differences.Count == 0, "Sessions differs from LangGraph's server:\n" + string.Join('\n', differences));
    }

    private static async Task<JsonNode> FactsAsync(Dictionary<string, string> environment)
    {
        var (exitCode, text) = await ClientPackages.RunNodeAsync(environment, TimeSpan.FromMinutes(3), "protocol-facts.mjs");
        Assert.True(exitCode == 0, $"protocol-facts.mjs failed against {environment["PROTOCOL_URL"]}:\n{text}");
        return JsonNode.Parse(text[text.IndexOf('{', StringComparison.Ordinal)..])!;
    }

    /// <summary>`langgraphjs dev` in tests/clients/reference, on a free loopback port, without reloading or analytics.</summary>
    private sealed class ReferenceServer : IAsyncDisposable
    {
        private readonly Process process;

        private ReferenceServer(Process process, string url)
        {
            this.process = process;
            Url = url;
        }

        public string Url { get; }

        public static async Task<ReferenceServer> StartAsync()
        {
            var folder = Path.Combine(ClientPackages.Folder, "reference");

            // What an earlier run kept: every run starts from no threads.
            var kept = Path.Combine(folder, ".langgraph_api");
            if (Directory.Exists(kept))
            {
                Directory.Delete(kept, recursive: true);
            }

            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var start = new ProcessStartInfo("node")
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { Path.Combine(ClientPackages.Folder, "node_modules", "@langchain", "langgraph-cli", "dist", "cli", "cli.mjs"), "dev", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", "127.0.0.1", "--no-browser", "--no-reload" })
            {
                start.ArgumentList.Add(argument);
            }

            // Nothing may leave the machine: no usage reports, no tracing.
            start.Environment["LANGGRAPH_CLI_NO_ANALYTICS"] = "1";
            start.Environment["LANGSMITH_TRACING"] = "false";
            start.Environment["LANGCHAIN_TRACING_V2"] = "false";
            start.Environment.Remove("LANGSMITH_API_KEY");
            start.Environment.Remove("LANGCHAIN_API_KEY");
            var process = Process.Start(start)!;
            var log = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var server = new ReferenceServer(process, $"http://127.0.0.1:{port}");
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (true)
            {
                try
                {
                    if ((await client.GetAsync($"{server.Url}/ok")).IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                }

                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    await server.DisposeAsync();
                    lock (log)
                    {
                        throw new InvalidOperationException($"LangGraph's server did not start:\n{log}");
                    }
                }

                await Task.Delay(250);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
