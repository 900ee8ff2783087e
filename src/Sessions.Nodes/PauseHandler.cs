using Sessions.Runtime.Nodes;

namespace Sessions.Nodes;

/// <summary>`pause`: ends the turn with status `paused`; the next turn continues at `next`.</summary>
public sealed class PauseHandler : INodeHandler
{
    public string NodeType => "pause";

    public bool WaitsForPeople => true;

    public object? Compile(NodeSpec spec) => null;

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NodeResult.Pause(context.Node.Next!));
}
