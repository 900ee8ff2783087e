using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes;

/// <summary>`say`: speaks a templated message to the user and moves on.</summary>
public sealed class SayHandler : INodeHandler
{
    public string NodeType => "say";

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec) => spec.Template("text", required: true);

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var text = context.Config<Template>().Render(context.Variables);
        return ValueTask.FromResult(NodeResult.Next(context.Node.Next!).Emit(new Said(text)));
    }
}
