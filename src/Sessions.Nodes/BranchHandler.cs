using System.Text.Json.Nodes;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Nodes;

namespace Sessions.Nodes;

/// <summary>`branch`: the first case whose condition holds chooses the next node; otherwise `default`.</summary>
public sealed class BranchHandler : INodeHandler
{
    public string NodeType => "branch";

    public bool UsesNext => false;

    public object? Compile(NodeSpec spec)
    {
        var cases = new List<BranchCase>();
        if (spec.Json["cases"] is not JsonArray array)
        {
            spec.Error("cases", "missing_field", "\"cases\" is an array of { \"when\": condition, \"next\": node id }.");
        }
        else
        {
            for (var i = 0; i < array.Count; i++)
            {
                var path = $"{spec.FieldPath("cases")}[{i}]";
                if (array[i] is not JsonObject item)
                {
                    spec.Problems.Error(path, "invalid_type", "A case is { \"when\": condition, \"next\": node id }.");
                    continue;
                }

                var when = ConditionParser.Parse(item["when"], $"{path}.when", spec.Problems);
                var next = item["next"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? item["next"]!.GetValue<string>() : null;
                if (next is null)
                {
                    spec.Problems.Error($"{path}.next", "missing_field", "A case names its \"next\" node.");
                }
                else
                {
                    spec.Edge(next, $"{path}.next");
                }

                if (when is not null && next is not null)
                {
                    cases.Add(new BranchCase(i, when, next));
                }
            }
        }

        var fallback = spec.String("default", required: true);
        if (fallback is not null)
        {
            spec.Edge(fallback, spec.FieldPath("default"));
        }

        return new BranchConfig(cases, fallback!);
    }

    public ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var config = context.Config<BranchConfig>();
        var match = config.Cases.FirstOrDefault(c => c.When.Evaluate(context.Variables));
        var result = match is null
            ? NodeResult.Branch(config.Default, new JsonObject { ["default"] = true })
            : NodeResult.Branch(match.Next, new JsonObject { ["index"] = match.Index, ["when"] = match.When.ToJson() });
        return ValueTask.FromResult(result);
    }

    private sealed record BranchCase(int Index, Condition When, string Next);

    private sealed record BranchConfig(IReadOnlyList<BranchCase> Cases, string Default);
}
