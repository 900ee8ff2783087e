using System.Text.Json.Nodes;
using Sessions.Nodes.Llm;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Nodes;

/// <summary>
/// `branch`: the first case whose condition holds chooses the next node; otherwise `default`. A case's condition is
/// data (`when`), or a yes/no question over the conversation that a model answers (`llm_condition`).
/// </summary>
public sealed class BranchHandler(LlmGateway gateway) : INodeHandler
{
    private const string Judge = "You answer a yes/no question about the conversation so far. Reply with exactly one word: yes or no.";

    public string NodeType => "branch";

    public bool UsesNext => false;

    /// <summary>Only a case that a model decides (`llm_condition`) reaches outside.</summary>
    public bool ReachesOutside(object? config) => config is not BranchConfig branch || branch.Cases.Any(c => c.Llm is not null);

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

                var llm = item["llm_condition"] is JsonObject question ? LlmQuestion(spec, question, $"{path}.llm_condition") : null;
                var when = llm is null ? ConditionParser.Parse(item["when"], $"{path}.when", spec.Problems) : null;
                var next = item["next"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? item["next"]!.GetValue<string>() : null;
                if (next is null)
                {
                    spec.Problems.Error($"{path}.next", "missing_field", "A case names its \"next\" node.");
                }
                else
                {
                    spec.Edge(next, $"{path}.next");
                }

                if ((when is not null || llm is not null) && next is not null)
                {
                    cases.Add(new BranchCase(i, when, llm, next));
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

    public async ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var config = context.Config<BranchConfig>();
        var asked = new List<ModelAsked>();
        var timeouts = new List<ConditionTimeout>();
        foreach (var branchCase in config.Cases)
        {
            var holds = branchCase.When?.Evaluate(context.Variables, timeouts) ?? await AskAsync(branchCase.Llm!, context, asked, cancellationToken);
            if (holds)
            {
                var matched = new JsonObject { ["index"] = branchCase.Index };
                matched[branchCase.When is null ? "llm_condition" : "when"] = branchCase.When?.ToJson() ?? JsonValue.Create(branchCase.Llm!.Question);
                return WithWarnings(NodeResult.Branch(branchCase.Next, matched), asked, timeouts);
            }
        }

        return WithWarnings(NodeResult.Branch(config.Default, new JsonObject { ["default"] = true }), asked, timeouts);
    }

    /// <summary>The questions put to the model, and each pattern that ran out of time (no match, never a failure).</summary>
    private static NodeResult WithWarnings(NodeResult result, List<ModelAsked> asked, List<ConditionTimeout> timeouts) =>
        timeouts.Aggregate(
            asked.Aggregate(result, (current, question) => current.Emit(question)),
            (current, timeout) => current.Emit(timeout.ToEvent()));

    private async Task<bool> AskAsync(LlmQuestionConfig question, NodeContext context, List<ModelAsked> asked, CancellationToken cancellationToken)
    {
        var messages = new List<LlmMessage> { new("system", Judge) };
        messages.AddRange(LlmSettings.History(context.Conversation));
        messages.Add(new LlmMessage("user", $"Question: {question.Question}"));
        var reply = await gateway.CompleteAsync(gateway.Resolve(question.ConfigName, question.Overrides), messages, context, json: false, onDelta: null, cancellationToken);
        var yes = reply.Text.Trim().TrimStart('"', '\'', '*').StartsWith("yes", StringComparison.OrdinalIgnoreCase);
        asked.Add(LlmSettings.Asked(reply, question.Question, yes));
        return yes;
    }

    private LlmQuestionConfig? LlmQuestion(NodeSpec spec, JsonObject json, string path)
    {
        var question = json["question"] is JsonValue q && q.GetValueKind() == System.Text.Json.JsonValueKind.String ? q.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(question))
        {
            spec.Problems.Error($"{path}.question", "missing_field", "An llm_condition asks a yes/no \"question\".");
            return null;
        }

        var (name, overrides) = LlmSettings.Compile(spec, gateway, json, path);
        return new LlmQuestionConfig(question, name, overrides);
    }

    private sealed record LlmQuestionConfig(string Question, string? ConfigName, LlmConfig Overrides);

    private sealed record BranchCase(int Index, Condition? When, LlmQuestionConfig? Llm, string Next);

    private sealed record BranchConfig(IReadOnlyList<BranchCase> Cases, string Default);
}
