using Sessions.Testing;

namespace Sessions.Client.Tests;

/// <summary>
/// `sessions`, the command line, run as a process against a real server whose model and order API are stand-ins on
/// loopback: `chat` completes every sample workflow through a pipe (one reply per line) and one through tmux, typed as
/// a person would; `validate`, `upload`, `runs`, `run` and `replay` print what a person reads and exit as scripts expect.
/// </summary>
public sealed class CliTests : IAsyncLifetime
{
    private readonly TempDirectory folder = new();
    private LoopbackOpenAi model = null!;
    private LoopbackApi orders = null!;
    private ServerProcess server = null!;

    public async Task InitializeAsync()
    {
        model = await LoopbackOpenAi.StartAsync();
        orders = await LoopbackApi.StartAsync("token");
        server = await ServerProcess.StartAsync(
            folder.File("sessions.db"),
            $"--Sessions:Llm:Configs:default:BaseUrl={model.BaseUrl}",
            "--Sessions:Llm:Configs:default:Model=big-model",
            $"--Sessions:Llm:Configs:cheap:BaseUrl={model.BaseUrl}",
            "--Sessions:Llm:Configs:cheap:Model=small-model");
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await orders.DisposeAsync();
        await model.DisposeAsync();
        folder.Dispose();
    }

    [Theory]
    [InlineData("66a1f0000000000000000001", "12\n123456\n", "Order 123456 has shipped.")]
    [InlineData("66a1f0000000000000000002", "Ada Lovelace\nada@example.com\nBilling and invoices\nno\nyes\n", "your billing ticket is filed")]
    [InlineData("66a1f0000000000000000003", "Dental cleaning\n2026-12-24\nMorning\n/resume\nyes\n", "All set. We'll remind you. See you then!")]
    [InlineData("66a1f0000000000000000004", "Where is my order 123456?\n", "Order 123456 is shipped, expected 2026-12-01.")]
    public async Task Chat_completes_every_sample_workflow_through_a_pipe(string workflowId, string replies, string said)
    {
        var (exit, output) = await SessionsAsync(replies, "chat", workflowId, "--url", server.Address.ToString(), "--var", $"orders_api={orders.Address}public");

        Assert.True(exit == 0, output);
        Assert.Contains(said, output, StringComparison.Ordinal);
        Assert.Equal("[completed]", output.Trim().Split('\n')[^1]);
        if (workflowId.EndsWith('1'))
        {
            // A refused reply is shown with its reason, and the question asked again.
            Assert.Contains("[refused: The reply \"12\" does not fit: expected text matching ^[0-9]{6}$. (invalid_reply)]", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Chat_in_a_terminal_takes_what_a_person_types_in_tmux()
    {
        var session = $"sessions-{Guid.NewGuid():n}"[..20];
        var cli = Path.Combine(AppContext.BaseDirectory, "sessions.dll");
        await RunAsync("tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", $"dotnet {cli} chat 66a1f0000000000000000003 --url {server.Address}; echo exited $?; sleep 60");
        try
        {
            async Task<string> ScreenAsync() => (await RunAsync("tmux", "capture-pane", "-p", "-t", session)).Output;
            async Task SeeAsync(string text) => await Eventually.TrueAsync(async () => (await ScreenAsync()).Contains(text, StringComparison.Ordinal), $"the screen shows '{text}'");

            await SeeAsync("Which service do you need?");
            await RunAsync("tmux", "send-keys", "-t", session, "Down", "Enter");  // the second option of the list
            await SeeAsync("Which day?");
            await RunAsync("tmux", "send-keys", "-t", session, "-l", "2026-12-24");
            await RunAsync("tmux", "send-keys", "-t", session, "Enter");
            await SeeAsync("Morning or afternoon?");
            await RunAsync("tmux", "send-keys", "-t", session, "Enter");          // the first option
            await SeeAsync("/resume to continue");
            await RunAsync("tmux", "send-keys", "-t", session, "-l", "/resume");
            await RunAsync("tmux", "send-keys", "-t", session, "Enter");
            await SeeAsync("Shall we send a reminder the day before?");
            await RunAsync("tmux", "send-keys", "-t", session, "Down", "Enter");  // no
            await SeeAsync("exited 0");

            var screen = await ScreenAsync();
            Assert.Contains("I've asked the clinic to hold a dental appointment on 2026-12-24 (morning).", screen, StringComparison.Ordinal);
            Assert.Contains("No reminder will be sent.", screen, StringComparison.Ordinal);
            Assert.Contains("completed", screen, StringComparison.Ordinal);
        }
        finally
        {
            await RunAsync("tmux", "kill-session", "-t", session);
        }
    }

    [Fact]
    public async Task Validate_upload_runs_run_and_replay_print_what_a_person_reads()
    {
        var good = folder.File("good.json");
        await File.WriteAllTextAsync(good, """
            { "name": "Cli greeter", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
              { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var bad = folder.File("bad.json");
        await File.WriteAllTextAsync(bad, """
            { "name": "Broken", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "nowhere" },
              { "id": "odd", "type": "shout", "next": "ask" } ] }
            """);

        var (valid, validOutput) = await SessionsAsync(null, "validate", good);
        Assert.Equal(0, valid);
        Assert.Contains("good.json: valid", validOutput, StringComparison.Ordinal);
        var (invalid, invalidOutput) = await SessionsAsync(null, "validate", bad);
        Assert.Equal(1, invalid);
        Assert.Contains("error   $.nodes[0].next", invalidOutput, StringComparison.Ordinal);
        Assert.Contains("shout", invalidOutput, StringComparison.Ordinal);

        var url = server.Address.ToString();
        var (uploaded, uploadOutput) = await SessionsAsync(null, "upload", good, "--url", url);
        Assert.Equal(0, uploaded);
        var workflowId = uploadOutput.Trim().Split('\n')[^1].Split(' ')[0];
        Assert.Matches("^[0-9a-f]{24}$", workflowId);

        using var client = SessionsClient.Create(server.Address);
        var chat = await client.StartAsync(workflowId);
        await chat.ReplyAsync("Ada");

        var (_, transcript) = await SessionsAsync(null, "run", chat.RunId, "--url", url);
        Assert.Contains("? Name?", transcript, StringComparison.Ordinal);
        Assert.Contains("> Ada", transcript, StringComparison.Ordinal);
        Assert.Contains("Bye Ada", transcript, StringComparison.Ordinal);

        var (_, list) = await SessionsAsync(null, "runs", "--workflow", workflowId, "--url", url);
        Assert.Contains(chat.RunId, list, StringComparison.Ordinal);

        var changed = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(good))!;
        changed["nodes"]![1]!["text"] = "Farewell {{name}}";
        await client.AddVersionAsync(workflowId, changed);
        var (replayed, replay) = await SessionsAsync(null, "replay", chat.RunId, "--version", "1", "--url", url);
        Assert.Equal(0, replayed);
        Assert.Contains("turn 2: differs", replay, StringComparison.Ordinal);
        Assert.Contains("diverged first at turn 2", replay, StringComparison.Ordinal);
    }

    /// <summary>Runs `sessions` as a person's shell would, with <paramref name="input"/> through a pipe.</summary>
    private static async Task<(int Exit, string Output)> SessionsAsync(string? input, params string[] arguments) =>
        await RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "sessions.dll"), .. arguments], input);

    private static async Task<(int Exit, string Output)> RunAsync(string file, params string[] arguments) => await RunAsync(file, arguments, null);

    private static async Task<(int Exit, string Output)> RunAsync(string file, IReadOnlyList<string> arguments, string? input)
    {
        var (exit, output, errors) = await Commands.RunAsync(file, arguments, input: input);
        return (exit, output + errors);
    }
}
