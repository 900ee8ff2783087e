using System.Diagnostics;
using Sessions.Testing;

namespace Sessions.Client.Tests;

/// <summary>
/// The packages as a user gets them. `dotnet pack` makes the client, and a console project outside the solution, with
/// nothing but that package from a local folder feed, completes the Order status conversation in a dozen lines, with a
/// reply whose answer the network loses and a stream it cuts; and it makes the `sessions` tool, which `dotnet tool
/// install` installs and which serves and chats.
/// </summary>
public sealed class PackageTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Program = """
        using Sessions.Client;

        using var client = SessionsClient.Create(new Uri(args[0]));
        var chat = await client.StartAsync("66a1f0000000000000000001");
        Console.WriteLine(chat.Hint!.Prompt);
        await chat.ReplyAsync("654321");
        await foreach (var update in chat.StreamAsync("123456"))
        {
            if (update is EventUpdate { Event.Type: "say_static" } said) Console.WriteLine(said.Event.Field("text"));
        }

        Console.WriteLine($"{chat.Status} after turn {chat.TurnNumber}");
        """;

    [Fact]
    public async Task The_packed_client_completes_a_conversation_from_a_project_outside_the_solution()
    {
        Assert.True(Program.Split('\n').Length < 20);
        using var folder = new TempDirectory();
        var feed = Directory.CreateDirectory(folder.File("feed")).FullName;
        var app = Directory.CreateDirectory(folder.File("app")).FullName;
        // A version of its own each time: NuGet caches a package by version, and this one must be the code under test.
        var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        await RunAsync(Repository.Root, "dotnet", "pack", "src/Sessions.Client", "-c", "Release", "-o", feed, "-nologo", $"-p:Version={version}");
        Assert.Single(Directory.GetFiles(feed, "Sessions.Client.*.nupkg"));

        // A project of its own: no Directory.Build.props or central versions above it, the local feed beside the usual
        // source. It takes the net8.0 build of the package (LTS users' one); this machine has only the .NET 10 runtime to run it on.
        await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), $$"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net8.0</TargetFramework><RollForward>Major</RollForward><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
              <ItemGroup><PackageReference Include="Sessions.Client" Version="{{version}}" /></ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <configuration><packageSources><add key="local" value="{feed}" /></packageSources></configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Program);
        fixture.Proxy.DropNext("/execute", Drop.TheAnswer, skip: 1);
        fixture.Proxy.DropNext("/execute/stream", Drop.AfterFirstEvent);

        var output = await RunAsync(app, "dotnet", "run", "--", fixture.Proxy.Address.ToString());

        Assert.Equal(["Your order number?", "Order 123456 has shipped.", "Completed after turn 3"], output.Trim().Split('\n').Select(l => l.Trim()));
    }

    [Fact]
    public async Task The_packed_tool_installs_and_serves_the_embedded_store_and_chats_with_it()
    {
        using var folder = new TempDirectory();
        var feed = Directory.CreateDirectory(folder.File("feed")).FullName;
        var tools = folder.File("tools");
        var work = Directory.CreateDirectory(folder.File("work")).FullName;
        var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        await RunAsync(Repository.Root, "dotnet", "pack", "src/Sessions.Cli", "-c", "Release", "-o", feed, "-nologo", $"-p:Version={version}");
        await RunAsync(work, "dotnet", "tool", "install", "Sessions.Cli", "--tool-path", tools, "--add-source", feed, "--version", version);
        var sessions = Path.Combine(tools, "sessions");

        // `sessions serve`: the server with the embedded store in the folder it is run from, and the samples.
        var serve = new ProcessStartInfo(sessions) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "serve", "--urls", "http://127.0.0.1:0" })
        {
            serve.ArgumentList.Add(argument);
        }

        using var server = Process.Start(serve)!;
        try
        {
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            server.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.IndexOf("Now listening on: ", StringComparison.Ordinal) is >= 0 and var at)
                {
                    listening.TrySetResult(e.Data[(at + "Now listening on: ".Length)..].Trim());
                }
            };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(File.Exists(Path.Combine(work, "data", "sessions.db")));

            var chat = new ProcessStartInfo(sessions) { RedirectStandardOutput = true, RedirectStandardInput = true };
            foreach (var argument in new[] { "chat", "66a1f0000000000000000001", "--url", address })
            {
                chat.ArgumentList.Add(argument);
            }

            using var person = Process.Start(chat)!;
            await person.StandardInput.WriteLineAsync("123456");
            person.StandardInput.Close();
            var output = await person.StandardOutput.ReadToEndAsync();
            await person.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(0, person.ExitCode);
            Assert.Contains("Order 123456 has shipped.", output, StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static async Task<string> RunAsync(string directory, string file, params string[] arguments)
    {
        var (exit, output, errors) = await Commands.RunAsync(file, arguments, directory, timeout: TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, $"{file} {string.Join(' ', arguments)} exited {exit}:\n{output}\n{errors}");
        return output;
    }
}
