using Sessions.Runtime.Nodes;

namespace Sessions.Nodes;

/// <summary>
/// `pause`: ends the turn with status `paused`; the next turn continues at `next`. With `resume_after_seconds` the run
/// also resumes by itself then, if no turn came first.
/// </summary>
public sealed class PauseHandler : INodeHandler
{
    public string NodeType => "pause";

    public bool WaitsForPeople => true;

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec) => new PauseConfig(spec.Seconds("resume_after_seconds", AskHandler.MaxWait));

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var paused = NodeResult.Pause(context.Node.Next!);
        return ValueTask.FromResult(context.Config<PauseConfig>().ResumeAfter is { } after ? paused.WithTimer(after, context.Node.Next!) : paused);
    }

    private sealed record PauseConfig(TimeSpan? ResumeAfter);
}
