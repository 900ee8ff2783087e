using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Steps;

namespace Sessions.Runtime.Definitions;

/// <summary>
/// A workflow uploaded in the DAG shape, `{ "name", "steps": [...] }` with no `nodes`, is a `parallel` node of those
/// steps (id `steps`) followed by an `end` node (id `result`) whose output is the final step's outputs: the last
/// declared step that no other depends on. Problems are reported at the paths of the shape as uploaded.
/// </summary>
public static class DagShape
{
    public const string ParallelNodeId = "steps";
    public const string EndNodeId = "result";
    private const string StepsPath = "$.nodes[0]";

    public static bool Applies(JsonObject root) => root.ContainsKey("steps") && !root.ContainsKey("nodes");

    /// <summary>The same workflow in the node shape; a definition already in it is returned as it is.</summary>
    public static JsonObject Normalized(JsonObject root)
    {
        if (!Applies(root))
        {
            return root;
        }

        var parallel = new JsonObject { ["id"] = ParallelNodeId, ["type"] = "parallel", ["steps"] = root["steps"]?.DeepClone(), ["next"] = EndNodeId };
        if (root["max_concurrency"] is { } concurrency)
        {
            parallel["max_concurrency"] = concurrency.DeepClone();
        }

        var end = new JsonObject { ["id"] = EndNodeId, ["type"] = "end" };
        if (FinalStep(root["steps"]) is { } final)
        {
            end["output"] = $"{{{{{StepRun.StepsVariable}.{final}}}}}";
        }

        var normalized = new JsonObject();
        foreach (var (name, value) in root.Where(p => p.Key is not ("steps" or "max_concurrency")))
        {
            normalized[name] = value?.DeepClone();
        }

        normalized["start"] = ParallelNodeId;
        normalized["nodes"] = new JsonArray(parallel, end);
        return normalized;
    }

    /// <summary>Where a problem found in the normalized definition is in the definition as uploaded.</summary>
    public static string PathAsUploaded(string path) =>
        path.StartsWith(StepsPath + ".", StringComparison.Ordinal) ? "$." + path[(StepsPath.Length + 1)..]
        : path.StartsWith("$.nodes[", StringComparison.Ordinal) ? "$"
        : path;

    private static string? FinalStep(JsonNode? steps)
    {
        if (steps is not JsonArray items)
        {
            return null;
        }

        var declared = items.OfType<JsonObject>().Select(s => s["id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null).ToList();
        var upstream = items.OfType<JsonObject>()
            .SelectMany(s => s["depends_on"] as JsonArray ?? [])
            .Select(d => d is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null)
            .ToHashSet();
        return declared.LastOrDefault(id => id is not null && !upstream.Contains(id) && StepPlan.IsStepId(id));
    }
}
