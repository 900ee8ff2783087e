using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.History;

/// <summary>
/// Rebuilds per-node execution records from the event log, so that the log stays the one source of truth:
/// a start opens a record, an end closes it, and the events in between say how it went.
/// </summary>
public static class NodeExecutions
{
    public static IReadOnlyList<NodeExecution> From(IReadOnlyList<RunEvent> events, RunStatus runStatus)
    {
        var records = new List<NodeExecution>();
        var open = new Dictionary<string, int>(StringComparer.Ordinal);
        var attempts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in events.Where(e => e.NodeId is not null))
        {
            var node = e.NodeId!;
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

        // A node still open when the run finished was cut short by it (a stop while it waited, for example).
        if (RunStateMachine.IsTerminal(runStatus))
        {
            foreach (var index in open.Values)
            {
                records[index] = records[index] with { Status = runStatus.ToWire() };
            }
        }

        return records;

        void Update(string node, Func<NodeExecution, NodeExecution> change)
        {
            if (open.TryGetValue(node, out var index))
            {
                records[index] = change(records[index]);
            }
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
