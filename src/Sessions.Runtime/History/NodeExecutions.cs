using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.History;

/// <summary>
/// Rebuilds per-node execution records from the event log, so that the log stays the one source of truth:
/// a start opens a record, an end closes it, and the events in between say how it went. Events are added one at a time
/// as they are read, so that a page written as it is read never holds its events to build these.
/// </summary>
public sealed class NodeExecutions
{
    private readonly List<NodeExecution> records = [];
    private readonly Dictionary<string, int> open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> attempts = new(StringComparer.Ordinal);

    public void Add(RunEvent e)
    {
        if (e.NodeId is not { } node)
        {
            return;
        }

        switch (e.Type)
        {
            case RunEventType.StartNodeRun:
                attempts[node] = attempts.GetValueOrDefault(node) + 1;
                open[node] = records.Count;
                records.Add(new NodeExecution(node, attempts[node], e.TurnNumber, "running", e.Timestamp, null));
                break;
            case RunEventType.BusyWaitForUserMessage:
                Update(node, r => r with { Status = "waiting_for_user_input" });
                break;
            case RunEventType.PauseEvent:
                Update(node, r => r with { Status = "paused" });
                break;
            case RunEventType.Error:
                Update(node, r => r with { Status = "failed" });
                break;
            case RunEventType.EndNodeRun:
                Update(node, r => r with { Status = r.Status == "failed" ? "failed" : "completed", CompletedAt = e.Timestamp });
                open.Remove(node);
                break;
            case RunEventType.StepAttempt:
                records.Add(StepAttempt(node, e));
                break;
        }
    }

    /// <summary>The records of the events added so far, for a run now in <paramref name="runStatus"/>.</summary>
    public IReadOnlyList<NodeExecution> Records(RunStatus runStatus)
    {
        // A node still open when the run finished was cut short by it (a stop while it waited, for example).
        if (!RunMachine.IsTerminal(runStatus))
        {
            return records;
        }

        var cut = records.ToList();
        foreach (var index in open.Values)
        {
            cut[index] = cut[index] with { Status = runStatus.ToWire() };
        }

        return cut;
    }

    private void Update(string node, Func<NodeExecution, NodeExecution> change)
    {
        if (open.TryGetValue(node, out var index))
        {
            records[index] = change(records[index]);
        }
    }

    /// <summary>A step's attempt is recorded whole by its one event; its times are when it ran, not when it was recorded.</summary>
    private static NodeExecution StepAttempt(string node, RunEvent e)
    {
        var fields = e.Fields;
        DateTimeOffset Time(string name) =>
            fields[name] is JsonValue v && v.TryGetValue<string>(out var text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : e.Timestamp;
        return new NodeExecution(
            node,
            fields["attempt"] is JsonValue a && a.TryGetValue<int>(out var attempt) ? attempt : 1,
            e.TurnNumber,
            fields["status"]?.GetValue<string>() ?? "completed",
            Time("started_at"),
            Time("ended_at"),
            fields["step_id"]?.GetValue<string>(),
            fields["outputs"]?.DeepClone(),
            fields["error"]?.GetValue<string>());
    }
}
