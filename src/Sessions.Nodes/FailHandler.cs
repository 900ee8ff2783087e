using Sessions.Runtime.Nodes;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes;

/// <summary>`fail`: ends the run with status `failed` and a templated `error`.</summary>
public sealed class FailHandler : INodeHandler
{
    public string NodeType => "fail";

    public bool UsesNext => false;

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec) => spec.Template("error", required: true);

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NodeResult.Fail(context.Config<Template>().Render(context.Variables)));
}
