using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
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

        switch (e.Payload)
        {
            case NodeStarted:
                attempts[node] = attempts.GetValueOrDefault(node) + 1;
                open[node] = records.Count;
                records.Add(new NodeExecution(node, attempts[node], e.TurnNumber, "running", e.Timestamp, null));
                break;
            case InputAwaited:
                Update(node, r => r with { Status = "waiting_for_user_input" });
                break;
            case Paused:
                Update(node, r => r with { Status = "paused" });
                break;
            case ErrorRaised:
                Update(node, r => r with { Status = "failed" });
                break;
            case NodeEnded:
                Update(node, r => r with { Status = r.Status == "failed" ? "failed" : "completed", CompletedAt = e.Timestamp });
                open.Remove(node);
                break;
            case StepAttempted attempted:
                records.Add(StepAttempt(node, e.TurnNumber, attempted));
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
    private static NodeExecution StepAttempt(string node, int turnNumber, StepAttempted attempted) => new(
        node,
        attempted.Attempt,
        turnNumber,
        attempted.Status,
        attempted.StartedAt,
        attempted.EndedAt,
        attempted.StepId,
        attempted.Outputs?.DeepClone(),
        attempted.Error);
}
