using System.Diagnostics;
using System.Text;

namespace Sessions.Clients.Tests;

/// <summary>
/// The Node packages in tests/clients (installed by `.ci/run` with `npm ci`, exact versions from its lock file) and the
/// scripts that drive a server with them.
/// </summary>
public static class ClientPackages
{
    public static string Folder { get; } = FindFolder();

    /// <summary>
    /// Runs a `node --test` script against the server and fails with its report (and the server's log) unless every
    /// test in it ran and passed.
    /// </summary>
    public static async Task RunNodeTestAsync(ProtocolServer server, IReadOnlyDictionary<string, string> environment, Xunit.Abstractions.ITestOutputHelper output, string script)
    {
        var (exitCode, report) = await RunNodeAsync(environment, TimeSpan.FromMinutes(5), "--test", "--test-reporter=spec", script);
        output.WriteLine(report);
        var passed = System.Text.RegularExpressions.Regex.Match(report, @"^\S+ pass (\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
        var failed = System.Text.RegularExpressions.Regex.Match(report, @"^\S+ fail (\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(
            exitCode == 0 && passed.Success && int.Parse(passed.Groups[1].Value) > 0 && failed.Success && failed.Groups[1].Value == "0",
            $"{script} failed (exit code {exitCode}):\n{report}\nThe server's log:\n{server.Process.Output}");
    }

    /// <summary>Runs `node` with these arguments in tests/clients; its exit code and everything it wrote.</summary>
    public static async Task<(int ExitCode, string Output)> RunNodeAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments)
    {
        Assert.True(
            Directory.Exists(Path.Combine(Folder, "node_modules", "@langchain", "langgraph-sdk")),
            $"The client packages are not installed: run `npm ci` in {Folder} (.ci/run does).");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        // Nothing the packages do may reach beyond loopback: no telemetry, no LangSmith.
        start.Environment["LANGGRAPH_CLI_NO_ANALYTICS"] = "1";
        start.Environment["LANGSMITH_TRACING"] = "false";
        start.Environment["LANGCHAIN_TRACING_V2"] = "false";
        start.Environment.Remove("LANGSMITH_API_KEY");
        start.Environment.Remove("LANGCHAIN_API_KEY");

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {string.Join(' ', arguments)} ran past {timeout}:\n{Text(output)}");
        }

        process.WaitForExit();
        return (process.ExitCode, Text(output));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static string FindFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var clients = Path.Combine(folder.FullName, "tests", "clients");
            if (File.Exists(Path.Combine(clients, "package.json")))
            {
                return clients;
            }
        }

        throw new DirectoryNotFoundException($"No tests/clients above {AppContext.BaseDirectory}.");
    }
}
