using System.Text.RegularExpressions;
using Sessions.Runtime.Inputs;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes;

/// <summary>
/// `ask`: waits for the user, checks the reply against its input kind, and stores it typed in a variable. With
/// `timeout_seconds` and `on_timeout`, a wait with no accepted reply in time continues at `on_timeout` by itself.
/// </summary>
public sealed partial class AskHandler : INodeHandler
{
    public string NodeType => "ask";

    public bool WaitsForPeople => true;

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec)
    {
        var prompt = spec.Template("prompt", required: true);
        var variable = spec.String("variable", required: true);
        if (variable is not null && !VariableName().IsMatch(variable))
        {
            spec.Error("variable", "invalid_variable", "\"variable\" is a name of letters, digits and '_', not starting with a digit.");
        }

        var input = InputSpec.Parse(spec.Json["input"], spec.FieldPath("input"), spec.Problems);
        var timeout = spec.Seconds("timeout_seconds", MaxWait);
        var onTimeout = spec.String("on_timeout", required: spec.Json["timeout_seconds"] is not null);
        if (onTimeout is not null)
        {
            spec.Edge(onTimeout, spec.FieldPath("on_timeout"));
            if (spec.Json["timeout_seconds"] is null)
            {
                spec.Error("timeout_seconds", "missing_field", "\"on_timeout\" needs \"timeout_seconds\": how long the wait lasts.");
            }
        }

        return new AskConfig(prompt!, variable!, input, timeout is { } after && onTimeout is not null ? new NodeTimer(after, onTimeout) : null);
    }

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var config = context.Config<AskConfig>();
        var hint = new InputHint(context.Node.Id, config.Prompt.Render(context.Variables), config.Input);
        var waiting = NodeResult.AwaitInput(hint);
        return ValueTask.FromResult(config.Timeout is { } timer ? waiting.WithTimer(timer.After, timer.ContinueAt) : waiting);
    }

    public NodeResult AcceptReply(NodeContext context, string reply)
    {
        var config = context.Config<AskConfig>();
        var check = config.Input.Check(reply);
        return check.Accepted
            ? NodeResult.Next(context.Node.Next!).Assign(new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { [config.Variable] = check.Value })
            : NodeResult.RejectReply(check.Expected!);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    internal static partial Regex VariableName();

    /// <summary>The longest a wait may last before its timer: thirty days.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(30);

    private sealed record AskConfig(Template Prompt, string Variable, InputSpec Input, NodeTimer? Timeout);
}
