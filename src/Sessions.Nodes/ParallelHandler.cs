using Sessions.Runtime.Nodes;
using Sessions.Runtime.Steps;

namespace Sessions.Nodes;

/// <summary>
/// `parallel`: runs its `steps` (worker nodes with `depends_on`, `input_mappings`, `retries` and `fallback`) as a
/// graph, independent ones at once, then continues at `next` with every step's outputs under `steps.&lt;id&gt;`.
/// </summary>
public sealed class ParallelHandler(TimeProvider clock) : INodeHandler
{
    public string NodeType => "parallel";

    /// <summary>Whether any of its steps, or their fallbacks, does.</summary>
    public bool ReachesOutside(object? config) =>
        config is not StepPlan plan || plan.Steps.Any(s => s.Node.Handler.ReachesOutside(s.Node.Config) || s.Fallback is { } f && f.Handler.ReachesOutside(f.Config));

    public object? Compile(NodeSpec spec) => StepPlan.Compile(spec);

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken) =>
        new StepRun(context.Config<StepPlan>(), context, clock).RunAsync(cancellationToken);
}
