using System.Diagnostics;

namespace Sessions.Cli;

/// <summary>
/// `sessions serve`: the server built beside the tool (Sessions.Api.dll), with the embedded store in `data/` of the
/// current folder and the samples, as the README's run command starts it. Arguments after `serve` go to the server.
/// </summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var server = Path.Combine(AppContext.BaseDirectory, "Sessions.Api.dll");
        if (!File.Exists(server))
        {
            Console.Error.WriteLine($"The server is not installed beside this tool ({server} is missing).");
            return 3;
        }

        var start = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet")
        {
            WorkingDirectory = Environment.CurrentDirectory,
        };
        start.ArgumentList.Add(server);
        // Its settings and samples are where it was built; its database goes where the person runs it.
        start.ArgumentList.Add($"--contentRoot={AppContext.BaseDirectory}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var stopping = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        await process.WaitForExitAsync(CancellationToken.None);
        return process.ExitCode;
    }
}
