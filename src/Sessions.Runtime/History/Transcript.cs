using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.History;

/// <summary>One line of a conversation as a person reads it: who said it, and what.</summary>
/// <param name="Role">`user`, `assistant` (said or asked), or `system` (paused, finished, failed...).</param>
/// <param name="Kind">`message`, `prompt` (a question waiting for an answer), or `status`.</param>
public sealed record TranscriptLine(string Role, string Kind, string Text);

public sealed record TranscriptTurn(int TurnNumber, DateTimeOffset At, string? Command, IReadOnlyList<TranscriptLine> Lines);

/// <remarks>
/// The HTTP answer is written a turn at a time as the turns are read (<see cref="RunHistory.ReadAllTurnsAsync"/>), in
/// this record's shape, so that a long conversation never sits in memory whole.
/// </remarks>
public sealed record Transcript(string RunId, string WorkflowId, string WorkflowName, int VersionNumber, RunStatus Status, IReadOnlyList<TranscriptTurn> Turns)
{
    /// <summary>
    /// Reads turns in order into transcript turns. It remembers the last question's choices across turns, so that a
    /// reply to a choice reads as the label the person was shown, not the value it stands for.
    /// </summary>
    public sealed class Reader
    {
        private JsonArray? choices;

        public TranscriptTurn Turn(TurnRecord record) => new(
            record.Turn.TurnNumber,
            record.Turn.StartedAt,
            record.Turn.Input["command"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>().ToLowerInvariant() : null,
            record.Events.SelectMany(Read).ToList());

        private IEnumerable<TranscriptLine> Read(RunEvent e)
        {
            if (e.Payload is InputAwaited awaited)
            {
                choices = awaited.Input["options"] as JsonArray;
            }
            else if (e.Payload is UserMessage { Text: { } reply } && choices is not null)
            {
                var chosen = choices.FirstOrDefault(o => o?["value"] is JsonValue v && (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : Values.JsonText.Serialize(v)) == reply);
                choices = null;
                if (chosen?["label"] is JsonValue label && label.GetValueKind() == JsonValueKind.String)
                {
                    return [new TranscriptLine("user", "message", label.GetValue<string>())];
                }
            }

            return Lines(e.Payload);
        }
    }

    public static string MarkdownHeading(RunDocument run, string workflowName) =>
        string.Create(CultureInfo.InvariantCulture, $"# {workflowName}: run {run.Id}\n\nWorkflow `{run.WorkflowId}` version {run.VersionNumber}, status **{run.Status.ToWire()}**.\n");

    public static string Markdown(TranscriptTurn turn)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"\n## Turn {turn.TurnNumber} ({turn.At.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
        text.Append(turn.Command is null or "start" or "data" ? ")\n\n" : $", command `{turn.Command}`)\n\n");
        foreach (var line in turn.Lines)
        {
            text.Append(line switch
            {
                { Role: "system" } => $"_{line.Text}_\n\n",
                { Kind: "prompt" } => $"**Assistant asks:** {line.Text}\n\n",
                { Role: "user" } => $"**User:** {line.Text}\n\n",
                _ => $"**Assistant:** {line.Text}\n\n",
            });
        }

        return text.ToString();
    }

    private static IEnumerable<TranscriptLine> Lines(RunEventPayload payload)
    {
        switch (payload)
        {
            case UserMessage message:
                yield return new("user", "message", message.Text ?? string.Empty);
                break;
            case Said said:
                yield return new("assistant", "message", said.Text ?? string.Empty);
                break;
            case InputAwaited awaited:
                yield return new("assistant", "prompt", awaited.Prompt ?? string.Empty);
                break;
            case Paused paused:
                yield return new("system", "status", paused.Reason == Paused.ByCommand ? "Paused by the client." : "Paused by the workflow.");
                break;
            case Cancelled cancelled:
                yield return new("system", "status", $"Cancelled ({cancelled.Reason}).");
                break;
            case ErrorRaised error:
                yield return new("system", "status", $"Error: {error.Error}");
                break;
            case LoopRiskAborted aborted:
                yield return new("system", "status", aborted.Error ?? string.Empty);
                break;
            case WorkflowEnded { Status: RunStatus.Completed }:
                yield return new("system", "status", "Run completed.");
                break;
        }
    }
}
