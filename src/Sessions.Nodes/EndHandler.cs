using System.Text.Json.Nodes;
using Sessions.Runtime.Nodes;

namespace Sessions.Nodes;

/// <summary>`end`: completes the run, with an optional `output` (a template, or an object or array of templates).</summary>
public sealed class EndHandler : INodeHandler
{
    public string NodeType => "end";

    public bool UsesNext => false;

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec) =>
        spec.Json.TryGetPropertyValue("output", out var output) ? TemplatedJson.Compile(output, spec.FieldPath("output"), spec) : null;

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NodeResult.End(context.Node.Config is TemplatedJson output ? output.Evaluate(context.Variables) : null));
}
