using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes;

/// <summary>
/// `set`: assigns variables. A string value is a template (`"{{add attempts 1}}"` yields a number); any other JSON
/// value is assigned as it is. Emits `show_state` with the variables after the assignment.
/// </summary>
public sealed class SetHandler : INodeHandler
{
    public string NodeType => "set";

    public bool RunsAsStep(object? config) => true;

    public bool ReachesOutside(object? config) => false;

    public object? Compile(NodeSpec spec)
    {
        if (spec.Json["assign"] is not JsonObject assign || assign.Count == 0)
        {
            spec.Error("assign", "missing_field", "\"assign\" is a non-empty object of variable names and values.");
            return new List<Assignment>();
        }

        var assignments = new List<Assignment>();
        foreach (var (name, value) in assign)
        {
            var path = $"{spec.FieldPath("assign")}.{name}";
            if (!AskHandler.VariableName().IsMatch(name))
            {
                spec.Problems.Error(path, "invalid_variable", "A variable name is letters, digits and '_', not starting with a digit.");
                continue;
            }

            var template = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? spec.CompileTemplate(v.GetValue<string>(), path) : null;
            assignments.Add(new Assignment(name, template, value?.DeepClone()));
        }

        return assignments;
    }

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var assignment in context.Config<List<Assignment>>())
        {
            values[assignment.Name] = assignment.Template?.Evaluate(context.Variables) ?? assignment.Literal?.DeepClone();
        }

        var after = (JsonObject)context.Variables.DeepClone();
        foreach (var (name, value) in values)
        {
            after[name] = value?.DeepClone();
        }

        return ValueTask.FromResult(NodeResult.Next(context.Node.Next!).Assign(values).Emit(new StateShown(after)));
    }

    private sealed record Assignment(string Name, Template? Template, JsonNode? Literal);
}
