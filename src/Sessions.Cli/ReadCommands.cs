using System.Text.Json.Nodes;
using Sessions.Client;
using Spectre.Console;

namespace Sessions.Cli;

/// <summary>`sessions upload`, `runs`, `run` and `replay`: one call of the client each, shown for a person.</summary>
internal static class ReadCommands
{
    public static async Task<int> UploadAsync(SessionsClient client, FileInfo file, TextWriter output, CancellationToken cancellationToken)
    {
        try
        {
            var created = await client.CreateWorkflowAsync(JsonNode.Parse(await File.ReadAllTextAsync(file.FullName, cancellationToken))!, cancellationToken);
            foreach (var warning in created.Warnings)
            {
                output.WriteLine($"warning {warning.Path}: {warning.Message} ({warning.Code})");
            }

            output.WriteLine($"{created.WorkflowId} {created.Name} (version {created.VersionNumber})");
            return 0;
        }
        catch (SessionsProblemException refused)
        {
            output.WriteLine($"refused: {refused.Detail ?? refused.Title} ({refused.Code})");
            foreach (var error in refused.Errors)
            {
                output.WriteLine($"error   {error.Path}: {error.Message}{(error.Code is null ? string.Empty : $" ({error.Code})")}");
            }

            return 1;
        }
    }

    public static async Task<int> RunsAsync(SessionsClient client, string? workflowId, string? statuses, int limit, CancellationToken cancellationToken)
    {
        var filter = new RunFilter
        {
            WorkflowId = workflowId,
            Statuses = statuses?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Status).ToList(),
        };
        var found = await client.ListRunsAsync(filter, cancellationToken).Take(limit).ToListAsync(cancellationToken);
        if (Console.IsOutputRedirected)
        {
            // For scripts: one run per line, tab-separated, ids whole.
            foreach (var run in found)
            {
                Console.Out.WriteLine(string.Join('\t', run.RunId, run.WorkflowName, run.Status.ToWire(), run.TurnNumber, run.RunBy ?? "-", run.UpdatedAt.ToString("u")));
            }

            return 0;
        }

        var table = new Table().AddColumns("run", "workflow", "status", "turns", "run by", "updated");
        foreach (var run in found)
        {
            table.AddRow(run.RunId, Markup.Escape(run.WorkflowName), run.Status.ToWire(), run.TurnNumber.ToString(), Markup.Escape(run.RunBy ?? string.Empty), run.UpdatedAt.ToString("u"));
        }

        AnsiConsole.Write(table);
        return 0;
    }

    public static async Task<int> RunAsync(SessionsClient client, string runId, TextWriter output, CancellationToken cancellationToken)
    {
        var transcript = await client.GetTranscriptAsync(runId, cancellationToken);
        output.WriteLine($"{transcript.WorkflowName} (version {transcript.VersionNumber}), run {transcript.RunId}: {transcript.Status.ToWire()}");
        foreach (var turn in transcript.Turns)
        {
            output.WriteLine();
            output.WriteLine($"-- turn {turn.TurnNumber}, {turn.At:u}{(turn.Command is { } command ? $" ({command})" : string.Empty)}");
            foreach (var line in turn.Lines)
            {
                output.WriteLine(line.Role switch
                {
                    "user" => $"> {line.Text}",
                    "system" => $"[{line.Text}]",
                    _ => line.Kind == "prompt" ? $"? {line.Text}" : line.Text,
                });
            }
        }

        return 0;
    }

    public static async Task<int> ReplayAsync(SessionsClient client, string runId, ReplayRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        var report = await client.ReplayAsync(runId, request, cancellationToken);
        output.WriteLine($"replayed run {report.SourceRunId} (version {report.SourceVersionNumber}) on version {report.VersionNumber} with {report.Calls} calls: run {report.ReplayRunId}");
        foreach (var turn in report.Turns)
        {
            output.WriteLine($"turn {turn.TurnNumber}: {(turn.Diverged ? $"differs ({turn.Cause})" : "same")}");
            foreach (var difference in turn.Differences)
            {
                output.WriteLine($"  {difference.Field}: {difference.Before?.ToJsonString() ?? "null"} -> {difference.After?.ToJsonString() ?? "null"}");
            }

            foreach (var call in turn.Calls.Divergences)
            {
                output.WriteLine($"  call {call.NodeId}#{call.Index}: {call.Kind} ({call.Followed})");
            }
        }

        if (report.Stopped is { } stopped)
        {
            output.WriteLine($"stopped at turn {stopped.TurnNumber} before node {stopped.Call.NodeId} called out: {stopped.Call.Kind}");
        }

        output.WriteLine(report.Diverged ? $"diverged first at turn {report.FirstDivergentTurn}" : "no turn differs");
        return 0;
    }

    private static RunStatus Status(string wire) =>
        RunStatusNames.FromWire(wire)
        ?? throw new ArgumentException($"'{wire}' is no run status: one of {string.Join(", ", Enum.GetValues<RunStatus>().Select(RunStatusNames.ToWire))}.");
}
