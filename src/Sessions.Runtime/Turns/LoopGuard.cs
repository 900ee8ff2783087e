using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Counts node executions within one turn (that is, between two user messages) and stops a turn that would exceed
/// the workflow's bounds, naming the loop it was caught in.
/// </summary>
internal sealed class LoopGuard(WorkflowLimits limits)
{
    private readonly List<string> path = [];
    private readonly Dictionary<string, int> visits = new(StringComparer.Ordinal);

    /// <summary>Records a visit, or returns the cycle (node ids in order) when the visit would cross a bound.</summary>
    public IReadOnlyList<string>? Visit(string nodeId)
    {
        var visitsSoFar = visits.GetValueOrDefault(nodeId);
        if (path.Count >= limits.MaxNodeExecutionsPerTurn || visitsSoFar >= limits.MaxVisitsPerNodePerTurn)
        {
            return Cycle(nodeId);
        }

        visits[nodeId] = visitsSoFar + 1;
        path.Add(nodeId);
        return null;
    }

    public string Describe(IReadOnlyList<string> cycle) =>
        $"Loop guard: the turn ran {path.Count} nodes without user input and was stopped in the loop {string.Join(" -> ", cycle.Append(cycle[0]))} " +
        $"(limits: {limits.MaxNodeExecutionsPerTurn} nodes per turn, {limits.MaxVisitsPerNodePerTurn} visits per node per turn).";

    /// <summary>The nodes from the previous visit of <paramref name="nodeId"/> up to now: the loop that brought it back.</summary>
    private List<string> Cycle(string nodeId)
    {
        var previous = path.LastIndexOf(nodeId);
        if (previous >= 0)
        {
            return path[previous..];
        }

        for (var end = path.Count - 1; end > 0; end--)
        {
            var start = path.LastIndexOf(path[end], end - 1);
            if (start >= 0)
            {
                return path[start..end];
            }
        }

        return [nodeId];
    }
}
