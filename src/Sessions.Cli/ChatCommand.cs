using System.Text.Json.Nodes;
using Sessions.Client;

namespace Sessions.Cli;

/// <summary>
/// `sessions chat`: one conversation with a workflow. Shows what each turn said and what the run waits for, sends each
/// reply (a refusal is shown with its reason and the question asked again), and takes slash commands. Exits 0 when the
/// run completed, was stopped, or was left waiting at the end of input; 1 when it failed or could not start.
/// </summary>
internal sealed class ChatCommand(SessionsClient client, Terminal terminal)
{
    public async Task<int> RunAsync(string workflowId, IReadOnlyList<string> variables, CancellationToken cancellationToken)
    {
        Conversation chat;
        try
        {
            chat = await client.StartAsync(workflowId, Variables(variables), cancellationToken: cancellationToken);
        }
        catch (SessionsProblemException refused)
        {
            terminal.Note($"cannot start: {refused.Detail ?? refused.Title} ({refused.Code})");
            return 1;
        }

        Show(chat.Last);
        while (!chat.IsFinished)
        {
            var line = chat.Status == RunStatus.Paused || chat.Hint is null
                ? terminal.AskCommand($"the run is {chat.Status.ToWire()}: /resume to continue, /stop to end")
                : terminal.Ask(chat.Hint);
            if (line is null || line.Trim() == "/quit")
            {
                terminal.Note($"left run {chat.RunId} {chat.Status.ToWire()}");
                return 0;
            }

            line = line.Trim();
            try
            {
                switch (line)
                {
                    case "/stop":
                        Show(await chat.StopAsync(cancellationToken));
                        break;
                    case "/pause":
                        Show(await chat.PauseAsync(cancellationToken));
                        break;
                    case "/resume":
                        Show(await chat.ResumeAsync(cancellationToken));
                        break;
                    case "/state":
                        var run = await client.GetRunAsync(chat.RunId, cancellationToken);
                        terminal.Note($"run {run.RunId}, turn {run.TurnNumber}, {run.Status.ToWire()}: {run.Variables.ToJsonString()}");
                        break;
                    case "/restart":
                        chat = await client.StartAsync(workflowId, Variables(variables), cancellationToken: cancellationToken);
                        terminal.Note($"new run {chat.RunId}");
                        Show(chat.Last);
                        break;
                    case "/help":
                        terminal.Note(Terminal.Commands);
                        break;
                    case var path when chat.Hint?.Kind == "file":
                        Show(await chat.ReplyWithFilesAsync(null, [await FileAsync(chat, path, cancellationToken)], cancellationToken));
                        break;
                    default:
                        Show(await chat.ReplyAsync(line, cancellationToken: cancellationToken));
                        break;
                }
            }
            catch (SessionsProblemException refused)
            {
                // Nothing was applied: the same question is asked again.
                terminal.Note($"refused: {refused.Detail ?? refused.Title} ({refused.Code})");
            }
            catch (IOException unreadable)
            {
                terminal.Note($"cannot read the file: {unreadable.Message}");
            }
        }

        terminal.Note(chat.Last.Error is { } error ? $"{chat.Status.ToWire()}: {error}" : chat.Status.ToWire());
        return chat.Status is RunStatus.Failed or RunStatus.AbortedLoopingRisk ? 1 : 0;
    }

    private void Show(TurnAnswer answer)
    {
        foreach (var said in answer.Said())
        {
            terminal.Said(said);
        }
    }

    /// <summary>A file answering an `ask` of kind `file`: sent under the ask's variable, read from the version the run is on.</summary>
    private async Task<FileToSend> FileAsync(Conversation chat, string path, CancellationToken cancellationToken)
    {
        var run = await client.GetRunAsync(chat.RunId, cancellationToken);
        var definition = (await client.GetVersionAsync(run.WorkflowId, run.VersionNumber, cancellationToken)).Definition;
        var variable = definition["nodes"]?.AsArray().OfType<JsonObject>().FirstOrDefault(n => n["id"]?.GetValue<string>() == chat.Hint!.NodeId)?["variable"]?.GetValue<string>() ?? "file";
        return new FileToSend(variable, Path.GetFileName(path), ContentTypeOf(path), await File.ReadAllBytesAsync(path, cancellationToken));
    }

    private static string ContentTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".pdf" => "application/pdf",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".txt" => "text/plain",
        ".csv" => "text/csv",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };

    /// <summary>`name=value` pairs as the first turn's variables; a value that is JSON (a number, true, an object) is taken as such.</summary>
    private static JsonObject Variables(IReadOnlyList<string> pairs)
    {
        var variables = new JsonObject();
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                throw new ArgumentException($"--var takes name=value, not '{pair}'.");
            }

            var value = pair[(equals + 1)..];
            JsonNode? parsed;
            try
            {
                parsed = JsonNode.Parse(value);
            }
            catch (System.Text.Json.JsonException)
            {
                parsed = JsonValue.Create(value);
            }

            variables[pair[..equals]] = parsed;
        }

        return variables;
    }
}
