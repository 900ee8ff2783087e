using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Steps;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Api.Diagrams;

/// <summary>A node of a workflow's diagram: its id, its type, a line of what it does, and its steps if it is `parallel`.</summary>
public sealed record GraphNode(string Id, string Type, string? Detail)
{
    public IReadOnlyList<GraphStep> Steps { get; init; } = [];
}

/// <summary>A step of a `parallel` node: its id, its type, and the steps it waits for.</summary>
public sealed record GraphStep(string Id, string Type, IReadOnlyList<string> DependsOn);

/// <summary>An edge of a workflow's diagram, labelled with its condition when it has one (a branch case, `default`, `timeout`).</summary>
public sealed record GraphEdge(string From, string To, string? Label);

/// <summary>
/// A workflow version as a graph to draw: nodes in the order the definition lists them, and every way out of each, as
/// the compiled definition knows them. Labels are read from the uploaded definition at the path each edge was declared.
/// </summary>
public sealed record WorkflowGraph(string Name, string Start, IReadOnlyList<GraphNode> Nodes, IReadOnlyList<GraphEdge> Edges)
{
    private const int MaxLabel = 60;

    public static WorkflowGraph From(WorkflowDefinition definition, string definitionJson)
    {
        var source = DagShape.Normalized(JsonText.ParseStored(definitionJson) as JsonObject ?? []);

        // The uploaded nodes by id, in their order: the compiler has checked that ids are unique strings.
        var uploaded = (source["nodes"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(n => (Id: n["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : null, Json: n))
            .Where(n => n.Id is not null && definition.Nodes.ContainsKey(n.Id))
            .ToList();
        var declared = uploaded.Select(n => definition.Nodes[n.Id!]).ToList();
        var nodes = uploaded.Select(n => Node(definition.Nodes[n.Id!], n.Json)).ToList();
        var edges = new List<GraphEdge>();
        foreach (var node in declared)
        {
            edges.AddRange(node.Edges.Select(edge => new GraphEdge(node.Id, edge.Target, Label(source, edge.Path))));
            if (node.SelfLoop is not null)
            {
                edges.Add(new GraphEdge(node.Id, node.Id, "self_loop"));
            }
        }

        return new WorkflowGraph(definition.Name, definition.Start, nodes, edges);
    }

    private static GraphNode Node(CompiledNode node, JsonObject json) => node.Config is StepPlan plan
        ? new GraphNode(node.Id, node.Type, Shorten($"{plan.Steps.Count} steps, {plan.MaxConcurrency} at a time"))
        {
            Steps = plan.Steps.Select(step => new GraphStep(step.Id, step.Node.Type, step.DependsOn)).ToList(),
        }
        : new GraphNode(node.Id, node.Type, Detail(json));

    /// <summary>What a node says or asks, shortened: its text, prompt, url or model, if it has one.</summary>
    private static string? Detail(JsonObject? node)
    {
        foreach (var field in new[] { "prompt", "text", "url", "model", "error" })
        {
            if (node?[field] is JsonValue value && value.GetValueKind() == JsonValueKind.String)
            {
                return Shorten(value.GetValue<string>());
            }
        }

        return null;
    }

    /// <summary>The label of the edge declared at <paramref name="path"/>: a case's condition, `default`, `timeout`, or none.</summary>
    private static string? Label(JsonObject source, string path)
    {
        var field = path[(path.LastIndexOf('.') + 1)..];
        switch (field)
        {
            case "default":
                return "default";
            case "on_timeout":
                return "timeout";
            case "next" when Parent(source, path) is JsonObject owner && (owner.ContainsKey("when") || owner.ContainsKey("llm_condition")):
                return owner["llm_condition"] is JsonObject asked
                    ? Shorten($"llm: {asked["question"]?.ToString() ?? asked["prompt"]?.ToString() ?? "?"}")
                    : Shorten(Condition(owner["when"]));
            default:
                return null;
        }
    }

    /// <summary>The object holding the field at <paramref name="path"/> (`$.nodes[2].cases[0].next` → the case).</summary>
    private static JsonNode? Parent(JsonObject source, string path)
    {
        JsonNode? current = source;
        var steps = path.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries);
        foreach (var step in steps[..^1])
        {
            var bracket = step.IndexOf('[');
            var name = bracket < 0 ? step : step[..bracket];
            current = current?[name];
            if (bracket >= 0 && int.TryParse(step[(bracket + 1)..^1], out var index))
            {
                current = current is JsonArray array && index < array.Count ? array[index] : null;
            }
        }

        return current;
    }

    /// <summary>A condition as a person reads it: `order_id eq "123456"`, joined with and/or, negated with not.</summary>
    private static string Condition(JsonNode? when) => when switch
    {
        JsonObject all when all["all"] is JsonArray items => string.Join(" and ", items.Select(i => Wrapped(i))),
        JsonObject any when any["any"] is JsonArray items => string.Join(" or ", items.Select(i => Wrapped(i))),
        JsonObject not when not.ContainsKey("not") => $"not {Wrapped(not["not"])}",
        JsonObject test when test["var"] is not null => $"{test["var"]} {test["op"]}{(test.TryGetPropertyValue("value", out var value) ? " " + (value?.ToJsonString(DocumentJson.Options) ?? "null") : "")}",
        null => "?",
        _ => when.ToJsonString(DocumentJson.Options),
    };

    private static string Wrapped(JsonNode? when) => when is JsonObject o && (o.ContainsKey("all") || o.ContainsKey("any")) ? $"({Condition(when)})" : Condition(when);

    private static string Shorten(string text)
    {
        var line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= MaxLabel ? line : line[..(MaxLabel - 1)] + "…";
    }
}
