using Sessions.Runtime.Validation;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Templates;

namespace Sessions.Runtime.Steps;

/// <summary>Copies an upstream step's output into a variable of the step that reads it.</summary>
/// <param name="FromField">A dotted path into the upstream step's outputs (`body.items.0`).</param>
public sealed record InputMapping(string FromStep, string FromField, string ToField);

/// <summary>How often a failing step is tried again, waiting <see cref="Backoff"/> before the first retry and twice as long before each next.</summary>
public sealed record StepRetries(int Max, TimeSpan Backoff)
{
    public static readonly StepRetries None = new(0, TimeSpan.Zero);

    public TimeSpan WaitBefore(int retry) => Backoff * Math.Pow(2, retry - 1);
}

/// <summary>One step of a `parallel` node, compiled: its node, the steps it waits for, and what happens when it fails.</summary>
/// <param name="Fallback">The step with its `fallback` overrides applied: tried once after the retries are spent.</param>
public sealed record PlannedStep(string Id, CompiledNode Node, IReadOnlyList<string> DependsOn, IReadOnlyList<InputMapping> Mappings, StepRetries Retries, CompiledNode? Fallback);

/// <summary>
/// The steps of a `parallel` node as uploaded and checked: ids that templates can address (`{{steps.fetch.status}}`),
/// dependencies that name steps of the same node and form no cycle, mappings only from steps upstream, and only steps
/// that do their work and continue (never one that waits for a person).
/// </summary>
public sealed partial class StepPlan
{
    public const int MaxSteps = 100;
    public const int MaxRetries = 10;
    public const int MaxConcurrencyLimit = 64;
    public const int DefaultConcurrency = 4;

    // What a step declares about itself as a step; everything else is its node's own config.
    private static readonly HashSet<string> StepFields = ["id", "type", "depends_on", "input_mappings", "retries", "fallback"];

    private StepPlan(IReadOnlyList<PlannedStep> steps, int maxConcurrency)
    {
        Steps = steps;
        MaxConcurrency = maxConcurrency;
    }

    /// <summary>In the order they were declared.</summary>
    public IReadOnlyList<PlannedStep> Steps { get; }

    public int MaxConcurrency { get; }

    public static StepPlan Compile(NodeSpec spec)
    {
        var maxConcurrency = DefaultConcurrency;
        if (spec.Json["max_concurrency"] is { } limit)
        {
            if (limit is JsonValue v && v.TryGetValue<int>(out var value) && value is >= 1 and <= MaxConcurrencyLimit)
            {
                maxConcurrency = value;
            }
            else
            {
                spec.Error("max_concurrency", "invalid_value", $"\"max_concurrency\" is a whole number from 1 to {MaxConcurrencyLimit}.");
            }
        }

        if (spec.Json["steps"] is not JsonArray items || items.Count == 0 || items.Count > MaxSteps)
        {
            spec.Error("steps", spec.Json.ContainsKey("steps") ? "invalid_value" : "missing_field", $"\"steps\" is an array of 1 to {MaxSteps} steps.");
            return new StepPlan([], maxConcurrency);
        }

        var read = new List<(PlannedStep Step, string Path)>();
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"{spec.FieldPath("steps")}[{i}]";
            if (ReadStep(spec, items[i], path) is not { } step)
            {
                continue;
            }

            if (!firstIndex.TryAdd(step.Id, i))
            {
                spec.Problems.Error($"{path}.id", "duplicate_step_id", $"The step id \"{step.Id}\" is already used by {spec.FieldPath("steps")}[{firstIndex[step.Id]}].");
                continue;
            }

            read.Add((step, path));
        }

        CheckGraph(spec, read);
        return new StepPlan(read.Select(r => r.Step).ToList(), maxConcurrency);
    }

    /// <summary>A step id is a name templates can address (`{{steps.<id>.<output>}}`), of at most 100 characters.</summary>
    public static bool IsStepId(string id) => id.Length <= 100 && VariableNames.IsValid(id);

    private static PlannedStep? ReadStep(NodeSpec spec, JsonNode? item, string path)
    {
        if (item is not JsonObject json)
        {
            spec.Problems.Error(path, "invalid_type", "A step is an object with \"id\", \"type\" and the fields of its type.");
            return null;
        }

        var id = json["id"] is JsonValue i && i.GetValueKind() == JsonValueKind.String ? i.GetValue<string>() : null;
        if (id is null || !IsStepId(id))
        {
            spec.Problems.Error($"{path}.id", id is null ? "missing_field" : "invalid_step_id",
                "A step's \"id\" is letters, digits and '_', not starting with a digit (at most 100), so templates can name it: {{steps.<id>.<output>}}.");
        }

        if (json["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String)
        {
            DefinitionSchema.WarnIgnoredFields(json, DefinitionSchema.StepFields(t.GetValue<string>()), path, $"The \"{t.GetValue<string>()}\" step", spec.Problems);
        }

        var node = Worker(spec, json, path, id ?? string.Empty);
        var dependsOn = ReadDependsOn(spec, json, path);
        var mappings = ReadMappings(spec, json, path);
        var retries = ReadRetries(spec, json, path);
        CompiledNode? fallback = null;
        if (json["fallback"] is { } overrides)
        {
            if (overrides is not JsonObject fields || fields.Count == 0 || fields.Any(f => StepFields.Contains(f.Key)))
            {
                spec.Problems.Error($"{path}.fallback", "invalid_fallback",
                    $"\"fallback\" is a non-empty object of the step's own fields to use instead once its retries are spent (not {string.Join(", ", StepFields)}).");
            }
            else
            {
                var merged = (JsonObject)json.DeepClone();
                foreach (var (name, value) in fields)
                {
                    merged[name] = value?.DeepClone();
                }

                fallback = Worker(spec, merged, $"{path}.fallback", id ?? string.Empty);
            }
        }

        return id is null || node is null ? null : new PlannedStep(id, node, dependsOn, mappings, retries, fallback);
    }

    private static CompiledNode? Worker(NodeSpec spec, JsonObject json, string path, string id)
    {
        // The node sees only its own fields: a step's `retries` is the step's, not (for http_request) the call's own.
        var own = new JsonObject();
        foreach (var (name, value) in json.Where(f => f.Key is "id" or "type" || !StepFields.Contains(f.Key)))
        {
            own[name] = value?.DeepClone();
        }

        var node = spec.CompileNode(own, path);
        if (node is not null && !node.Handler.RunsAsStep(node.Config))
        {
            spec.Problems.Error($"{path}.type", node.Handler.WaitsForPeople ? "step_waits_for_people" : "invalid_step_type",
                $"A step does its work and continues (set, http_request, or llm in worker mode); a \"{node.Type}\" node {(node.Handler.WaitsForPeople ? "can wait for a person" : "cannot")}.");
            return null;
        }

        return node is null ? null : node with { Id = id };
    }

    private static IReadOnlyList<string> ReadDependsOn(NodeSpec spec, JsonObject json, string path)
    {
        if (json["depends_on"] is null)
        {
            return [];
        }

        if (json["depends_on"] is JsonArray ids && ids.All(d => d is JsonValue v && v.GetValueKind() == JsonValueKind.String))
        {
            return ids.Select(d => d!.GetValue<string>()).Distinct(StringComparer.Ordinal).ToList();
        }

        spec.Problems.Error($"{path}.depends_on", "invalid_type", "\"depends_on\" is an array of step ids.");
        return [];
    }

    private static IReadOnlyList<InputMapping> ReadMappings(NodeSpec spec, JsonObject json, string path)
    {
        if (json["input_mappings"] is null)
        {
            return [];
        }

        if (json["input_mappings"] is not JsonArray items)
        {
            spec.Problems.Error($"{path}.input_mappings", "invalid_type", "\"input_mappings\" is an array of { \"from_step\", \"from_field\", \"to_field\" }.");
            return [];
        }

        var mappings = new List<InputMapping>();
        for (var i = 0; i < items.Count; i++)
        {
            var at = $"{path}.input_mappings[{i}]";
            string? Field(string name) => (items[i] as JsonObject)?[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            var (from, field, to) = (Field("from_step"), Field("from_field"), Field("to_field"));
            if (from is null || field is null || !FieldPath().IsMatch(field) || to is null || !VariableNames.IsValid(to))
            {
                spec.Problems.Error(at, "invalid_mapping",
                    "A mapping is { \"from_step\": step id, \"from_field\": a dotted path in its outputs, \"to_field\": a variable name }.");
                continue;
            }

            mappings.Add(new InputMapping(from, field, to));
        }

        return mappings;
    }

    private static StepRetries ReadRetries(NodeSpec spec, JsonObject json, string path)
    {
        if (json["retries"] is null)
        {
            return StepRetries.None;
        }

        var retries = json["retries"] as JsonObject;
        int? max = retries?["max"] is JsonValue m && m.TryGetValue<int>(out var count) && count is >= 0 and <= MaxRetries ? count : null;
        double? backoff = retries?["backoff_seconds"] is null ? 0
            : retries["backoff_seconds"] is JsonValue b && b.TryGetValue<double>(out var seconds) && seconds is >= 0 and <= 3600 ? seconds : null;
        if (max is null || backoff is null)
        {
            spec.Problems.Error($"{path}.retries", "invalid_retries",
                $"\"retries\" is {{ \"max\": 0 to {MaxRetries}, \"backoff_seconds\": 0 to 3600 (doubled before each next retry) }}.");
            return StepRetries.None;
        }

        return new StepRetries(max.Value, TimeSpan.FromSeconds(backoff.Value));
    }

    /// <summary>Dependencies name steps of this node, form no cycle, and every mapping reads a step upstream.</summary>
    private static void CheckGraph(NodeSpec spec, List<(PlannedStep Step, string Path)> steps)
    {
        var known = steps.ToDictionary(s => s.Step.Id, s => s.Step.DependsOn, StringComparer.Ordinal);
        foreach (var (step, path) in steps)
        {
            for (var d = 0; d < step.DependsOn.Count; d++)
            {
                if (!known.ContainsKey(step.DependsOn[d]))
                {
                    spec.Problems.Error($"{path}.depends_on", "unknown_step", $"No step of this node has the id \"{step.DependsOn[d]}\".");
                }
            }
        }

        var inCycle = steps.Where(s => Upstream(known, s.Step.Id).Contains(s.Step.Id)).ToList();
        foreach (var (step, path) in inCycle)
        {
            spec.Problems.Error($"{path}.depends_on", "step_cycle", $"The step \"{step.Id}\" depends on itself through its depends_on.");
        }

        foreach (var (step, path) in steps)
        {
            var upstream = Upstream(known, step.Id);
            for (var m = 0; m < step.Mappings.Count; m++)
            {
                if (!upstream.Contains(step.Mappings[m].FromStep))
                {
                    spec.Problems.Error($"{path}.input_mappings[{m}].from_step", "mapping_not_upstream",
                        $"\"{step.Mappings[m].FromStep}\" is not upstream of \"{step.Id}\": a step reads only steps it depends on, directly or through others.");
                }
            }
        }
    }

    /// <summary>The steps that <paramref name="stepId"/> waits for, directly or through others.</summary>
    private static HashSet<string> Upstream(IReadOnlyDictionary<string, IReadOnlyList<string>> dependsOn, string stepId)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(dependsOn.GetValueOrDefault(stepId, []));
        while (queue.TryDequeue(out var id))
        {
            if (seen.Add(id))
            {
                foreach (var next in dependsOn.GetValueOrDefault(id, []))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return seen;
    }

    [GeneratedRegex("^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$")]
    private static partial Regex FieldPath();
}
