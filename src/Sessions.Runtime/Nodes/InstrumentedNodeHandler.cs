using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Sessions.Runtime.Nodes;

/// <summary>
/// Wraps every node handler to time it: a `sessions.node.duration` histogram (milliseconds, tagged with the node type
/// and outcome; readable with dotnet-counters or any metrics exporter) and a debug log line per execution.
/// Handlers stay free of timing code.
/// </summary>
public sealed class InstrumentedNodeHandler(INodeHandler inner, ILogger<InstrumentedNodeHandler> logger) : INodeHandler
{
    public const string MeterName = "Sessions.Nodes";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("sessions.node.duration", "ms", "Time a node handler took to run or to take a reply.");

    public string NodeType => inner.NodeType;

    public bool UsesNext => inner.UsesNext;

    public bool WaitsForPeople => inner.WaitsForPeople;

    public bool RunsAsStep(object? config) => inner.RunsAsStep(config);

    public bool ReachesOutside(object? config) => inner.ReachesOutside(config);

    public object? Compile(NodeSpec spec) => inner.Compile(spec);

    public async ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await inner.ExecuteAsync(context, cancellationToken);
            Record(context, "execute", result.Outcome.ToString(), started);
            return result;
        }
        catch (Exception)
        {
            Record(context, "execute", "Exception", started);
            throw;
        }
    }

    public NodeResult AcceptReply(NodeContext context, string reply)
    {
        var started = Stopwatch.GetTimestamp();
        var result = inner.AcceptReply(context, reply);
        Record(context, "reply", result.Outcome.ToString(), started);
        return result;
    }

    private void Record(NodeContext context, string phase, string outcome, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Duration.Record(elapsed, new("node_type", NodeType), new("phase", phase), new("outcome", outcome));
        logger.LogDebug("Node {NodeId} ({NodeType}) {Phase} took {Elapsed:F3} ms: {Outcome}", context.Node.Id, NodeType, phase, elapsed, outcome);
    }
}
