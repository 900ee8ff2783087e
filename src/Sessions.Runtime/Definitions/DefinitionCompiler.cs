using Sessions.Runtime.Errors;
using Sessions.Runtime.Webhooks;
using Sessions.Runtime.Validation;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Steps;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Definitions;

public sealed record DefinitionCompilation(WorkflowDefinition? Definition, IReadOnlyList<DefinitionProblem> Errors, IReadOnlyList<DefinitionProblem> Warnings);

/// <summary>
/// Validates an uploaded definition and compiles it for the runtime, reporting every problem with its JSON path.
/// </summary>
public sealed partial class DefinitionCompiler(NodeHandlerRegistry handlers, TemplateEngine templates)
{
    private const int MaxLimit = 100_000;

    /// <param name="stored">A version stored earlier, compiled again: checks added since it was stored only warn (<see cref="ProblemCollector.ErrorOnUpload"/>).</param>
    public DefinitionCompilation Compile(JsonNode? json, bool stored = false)
    {
        if (json is not JsonObject uploaded)
        {
            var invalid = new ProblemCollector();
            invalid.Error("$", "invalid_definition", "A workflow definition is a JSON object.");
            return new(null, invalid.Errors, invalid.Warnings);
        }

        var problems = new ProblemCollector(DagShape.Applies(uploaded) ? DagShape.PathAsUploaded : null, stored);
        DefinitionSchema.WarnIgnoredFields(uploaded, DefinitionSchema.TopLevelFields, "$", "The workflow definition", problems);
        var root = DagShape.Normalized(uploaded);

        var name = RequiredString(root, "name", problems);
        var description = root["description"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? d.GetValue<string>() : null;
        if (description is null && root["description"] is not null)
        {
            problems.ErrorOnUpload("$.description", "invalid_type", "\"description\" is a string.");
        }

        var start = RequiredString(root, "start", problems);
        var variables = ReadVariables(root, problems);
        var limits = ReadLimits(root, problems);
        var webhooks = ReadWebhooks(root, problems);
        var retention = ReadRetention(root, problems);
        var gate = ReadEvaluationGate(root, problems);
        var (specs, uncompiled) = ReadNodes(root, problems);

        // Every node that names an id counts as there, even one whose type is unknown or whose id is taken, so that its
        // own problem is the only one reported about it, never a false one about the edges that lead to it.
        var declared = specs.Select(s => s.Node.Id).Concat(uncompiled.Select(u => u.Id)).ToHashSet(StringComparer.Ordinal);
        var edges = specs.ToDictionary(s => s.Node.Id, s => s.Spec.Edges.Select(e => e.Target).Distinct().ToList());
        foreach (var (target, path) in specs.SelectMany(s => s.Spec.Edges).Concat(uncompiled.SelectMany(u => u.Edges)).Where(e => !declared.Contains(e.Target)))
        {
            problems.Error(path, "dangling_next", $"No node has the id \"{target}\".");
        }

        if (start is not null && !declared.Contains(start))
        {
            problems.Error("$.start", "unknown_start", $"No node has the id \"{start}\".");
        }
        else if (start is not null)
        {
            var reachable = new Dictionary<string, List<string>>(edges, StringComparer.Ordinal);
            foreach (var node in uncompiled.Where(u => !reachable.ContainsKey(u.Id)))
            {
                reachable[node.Id] = node.Edges.Select(e => e.Target).ToList();
            }

            var graphNodes = specs.Select(s => (s.Node.Id, s.Spec.Path, s.Index))
                .Concat(uncompiled.Where(u => !u.Id.StartsWith('#')).Select(u => (u.Id, u.Path, u.Index)));
            WarnUnreachable(start, graphNodes, reachable, problems);
        }

        CheckLoops(specs, edges, problems);
        CheckStepIds(specs, problems);

        if (problems.HasErrors)
        {
            return new(null, problems.Errors, problems.Warnings);
        }

        var nodes = specs.ToDictionary(
            s => s.Node.Id,
            s => s.Node with { Successors = edges[s.Node.Id], Edges = s.Spec.Edges.Select(e => new NodeEdge(e.Target, e.Path)).ToList() },
            StringComparer.Ordinal);
        return new(new WorkflowDefinition(name!, description, start!, variables, limits, nodes, problems.Warnings, webhooks, retention, gate), problems.Errors, problems.Warnings);
    }

    private static string? RequiredString(JsonObject root, string field, ProblemCollector problems)
    {
        if (root[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetValue<string>()))
        {
            return v.GetValue<string>();
        }

        problems.Error($"$.{field}", root.ContainsKey(field) ? "invalid_type" : "missing_field", $"\"{field}\" is a required, non-empty string.");
        return null;
    }

    private static JsonObject ReadVariables(JsonObject root, ProblemCollector problems)
    {
        switch (root["variables"])
        {
            case null:
                return new JsonObject();
            case JsonObject variables:
                return (JsonObject)variables.DeepClone();
            default:
                problems.Error("$.variables", "invalid_type", "\"variables\" is an object of initial values.");
                return new JsonObject();
        }
    }

    /// <summary>`webhooks`: each `{ url, events, secret }`; events default to all, and the secret is the name of a tenant's secret.</summary>
    private static IReadOnlyList<WebhookSubscription> ReadWebhooks(JsonObject root, ProblemCollector problems)
    {
        if (root["webhooks"] is null)
        {
            return [];
        }

        if (root["webhooks"] is not JsonArray items)
        {
            problems.Error("$.webhooks", "invalid_type", "\"webhooks\" is an array of { \"url\", \"events\", \"secret\" }.");
            return [];
        }

        var subscriptions = new List<WebhookSubscription>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"$.webhooks[{i}]";
            if (items[i] is not JsonObject item)
            {
                problems.Error(path, "invalid_type", "A webhook is an object { \"url\", \"events\", \"secret\" }.");
                continue;
            }

            var url = item["url"] is JsonValue u && u.GetValueKind() == JsonValueKind.String ? u.GetValue<string>() : null;
            if (!WebhookSubscription.IsValidUrl(url))
            {
                problems.Error($"{path}.url", "invalid_url", "\"url\" is an absolute http or https URL without credentials.");
            }

            var events = WebhookEvents.All;
            if (item["events"] is { } listed)
            {
                var names = listed is JsonArray array && array.All(e => e is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    ? array.Select(e => e!.GetValue<string>()).ToList()
                    : null;
                if (names is null || names.Count == 0 || names.Any(n => !WebhookEvents.All.Contains(n)))
                {
                    problems.Error($"{path}.events", "invalid_value", $"\"events\" is a non-empty array of: {string.Join(", ", WebhookEvents.All)}.");
                }
                else
                {
                    events = names.Distinct().ToList();
                }
            }

            string? secret = null;
            if (item["secret"] is { } named)
            {
                secret = named is JsonValue s && s.GetValueKind() == JsonValueKind.String && s.GetValue<string>().Length > 0 ? s.GetValue<string>() : null;
                if (secret is null)
                {
                    problems.Error($"{path}.secret", "invalid_type", "\"secret\" is the name of one of the tenant's secrets.");
                }
            }

            subscriptions.Add(new WebhookSubscription(url ?? "", events, secret));
        }

        return subscriptions;
    }

    /// <summary>`retention_days`: a whole number of days from 1 to 36500 that a finished run is kept; absent keeps runs.</summary>
    private static TimeSpan? ReadRetention(JsonObject root, ProblemCollector problems)
    {
        if (root["retention_days"] is not { } days)
        {
            return null;
        }

        if (days is JsonValue v && v.TryGetValue<int>(out var value) && value is >= 1 and <= 36_500)
        {
            return TimeSpan.FromDays(value);
        }

        problems.Error("$.retention_days", "invalid_value", "\"retention_days\" is a whole number of days from 1 to 36500 that a finished run is kept.");
        return null;
    }

    /// <summary>`evaluation_gate`: `{ "max_diverged_percent": 0 to 100 }`; absent, no gate.</summary>
    private static double? ReadEvaluationGate(JsonObject root, ProblemCollector problems)
    {
        if (root["evaluation_gate"] is not { } gate)
        {
            return null;
        }

        if (gate is JsonObject obj && obj.Count == 1 && obj["max_diverged_percent"] is JsonValue v && v.TryGetValue<double>(out var percent) && percent is >= 0 and <= 100)
        {
            return percent;
        }

        problems.Error("$.evaluation_gate", "invalid_value", "\"evaluation_gate\" is { \"max_diverged_percent\": a number from 0 to 100 }.");
        return null;
    }

    private static WorkflowLimits ReadLimits(JsonObject root, ProblemCollector problems)
    {
        if (root["limits"] is null)
        {
            return WorkflowLimits.Default;
        }

        if (root["limits"] is not JsonObject limits)
        {
            problems.Error("$.limits", "invalid_type", "\"limits\" is an object.");
            return WorkflowLimits.Default;
        }

        return new WorkflowLimits(
            ReadLimit(limits, "max_node_executions_per_turn", WorkflowLimits.Default.MaxNodeExecutionsPerTurn, problems),
            ReadLimit(limits, "max_visits_per_node_per_turn", WorkflowLimits.Default.MaxVisitsPerNodePerTurn, problems));
    }

    private static int ReadLimit(JsonObject limits, string field, int fallback, ProblemCollector problems)
    {
        if (!limits.TryGetPropertyValue(field, out var node))
        {
            return fallback;
        }

        if (node is JsonValue v && v.TryGetValue<int>(out var value) && value is >= 1 and <= MaxLimit)
        {
            return value;
        }

        problems.Error($"$.limits.{field}", "missing_loop_bound", $"\"{field}\" is a whole number from 1 to {MaxLimit}; the loop guard needs a bound.");
        return fallback;
    }

    /// <summary>A node that cannot be compiled (its type is unknown, its id taken or malformed), with the edges it names.</summary>
    private sealed record UncompiledNode(string Id, string Path, int Index, List<(string Target, string Path)> Edges);

    private (List<(CompiledNode Node, NodeSpec Spec, int Index)> Compiled, List<UncompiledNode> Uncompiled) ReadNodes(JsonObject root, ProblemCollector problems)
    {
        var result = new List<(CompiledNode, NodeSpec, int)>();
        var uncompiledNodes = new List<UncompiledNode>();
        if (root["nodes"] is not JsonArray nodes || nodes.Count == 0)
        {
            problems.Error("$.nodes", root.ContainsKey("nodes") ? "invalid_type" : "missing_field", "\"nodes\" is a non-empty array of nodes.");
            return (result, uncompiledNodes);
        }

        var firstIndexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            var path = $"$.nodes[{i}]";
            if (nodes[i] is not JsonObject json)
            {
                problems.Error(path, "invalid_type", "A node is an object with \"id\" and \"type\".");
                continue;
            }

            // Each problem of a node is reported, not only its first: a bad id does not hide an unknown type.
            var id = json["id"] is JsonValue idValue && idValue.GetValueKind() == JsonValueKind.String ? idValue.GetValue<string>() : null;
            var validId = id is not null && NodeIdPattern().IsMatch(id);
            if (!validId)
            {
                problems.Error($"{path}.id", id is null ? "missing_field" : "invalid_node_id", $"\"id\" is a string of letters, digits, '_' or '-' (at most 100){(id is null ? "" : $", not \"{ProblemText.Shorten(id)}\"")}.");
            }

            var duplicate = validId && !firstIndexById.TryAdd(id!, i);
            if (duplicate)
            {
                problems.Error($"{path}.id", "duplicate_node_id", $"The id \"{id}\" is already used by $.nodes[{firstIndexById[id!]}].");
            }

            var type = json["type"] is JsonValue typeValue && typeValue.GetValueKind() == JsonValueKind.String ? typeValue.GetValue<string>() : null;
            var spec = new NodeSpec(json, path, problems, templates, (inner, at) => CompileInner(inner, at, problems));
            if (type is null || !handlers.TryGet(type, out var handler))
            {
                NoSuchType(problems, path, type);

                // Its fields cannot be checked without its type, but where it says to go next can.
                if (json.ContainsKey("next") && spec.String("next", required: false) is { } target)
                {
                    spec.Edge(target, spec.FieldPath("next"));
                }

                uncompiledNodes.Add(new UncompiledNode(validId && !duplicate ? id! : $"#{i}", path, i, [.. spec.Edges]));
                continue;
            }

            DefinitionSchema.WarnIgnoredFields(json, DefinitionSchema.NodeFields(type), path, $"The \"{type}\" node", problems, except: "next");
            var next = ReadNext(json, spec, handler, problems);
            var selfLoop = SelfLoop.Parse(json, path, problems);
            var config = handler.Compile(spec);
            if (validId && !duplicate)
            {
                result.Add((new CompiledNode(id!, type, next, config, handler, [], selfLoop), spec, i));
            }
            else
            {
                // Ids cannot hold '#': this stands for a node outside the graph, kept for the edges it names.
                uncompiledNodes.Add(new UncompiledNode($"#{i}", path, i, [.. spec.Edges]));
            }
        }

        return (result, uncompiledNodes);
    }

    /// <summary>A node without a type, or with one no handler takes: the problem names what was sent and what may be.</summary>
    private void NoSuchType(ProblemCollector problems, string path, string? type)
    {
        var known = string.Join(", ", handlers.NodeTypes.Order());
        if (type is null)
        {
            problems.Error($"{path}.type", "missing_field", $"\"type\" is required: one of {known}.");
        }
        else
        {
            problems.Error($"{path}.type", "unknown_node_type", $"\"{ProblemText.Shorten(type)}\" is not a node type; \"type\" is one of: {known}.");
        }
    }

    /// <summary>A node inside another (a step): compiled by its type's handler, outside the graph, with no `next`.</summary>
    private CompiledNode? CompileInner(JsonObject json, string path, ProblemCollector problems)
    {
        var type = json["type"] is JsonValue typeValue && typeValue.GetValueKind() == JsonValueKind.String ? typeValue.GetValue<string>() : null;
        if (type is null || !handlers.TryGet(type, out var handler))
        {
            NoSuchType(problems, path, type);
            return null;
        }

        var config = handler.Compile(new NodeSpec(json, path, problems, templates, (inner, at) => CompileInner(inner, at, problems)));
        var id = json["id"] is JsonValue idValue && idValue.GetValueKind() == JsonValueKind.String ? idValue.GetValue<string>() : string.Empty;
        return new CompiledNode(id, type, null, config, handler, []);
    }

    /// <summary>Steps keep their outputs under `steps.&lt;id&gt;` whichever node runs them, so a step id names one step in the workflow.</summary>
    private static void CheckStepIds(List<(CompiledNode Node, NodeSpec Spec, int Index)> specs, ProblemCollector problems)
    {
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (node, spec, _) in specs.Where(s => s.Node.Config is StepPlan).OrderBy(s => s.Index))
        {
            foreach (var step in ((StepPlan)node.Config!).Steps.Where(step => !owner.TryAdd(step.Id, spec.Path)))
            {
                problems.Error(spec.FieldPath("steps"), "duplicate_step_id",
                    $"The step id \"{step.Id}\" is also a step of {owner[step.Id]}: step outputs share the variable \"steps\", so a step id is used once per workflow.");
            }
        }
    }

    private static string? ReadNext(JsonObject json, NodeSpec spec, INodeHandler handler, ProblemCollector problems)
    {
        if (!handler.UsesNext)
        {
            if (json.ContainsKey("next"))
            {
                problems.Warn(spec.FieldPath("next"), "ignored_field", $"A \"{handler.NodeType}\" node does not continue through \"next\"; it is ignored.");
            }

            return null;
        }

        var next = spec.String("next", required: true);
        if (next is not null)
        {
            spec.Edge(next, spec.FieldPath("next"));
        }

        return next;
    }

    private static void WarnUnreachable(string start, IEnumerable<(string Id, string Path, int Index)> nodes, Dictionary<string, List<string>> edges, ProblemCollector problems)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal) { start };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var id))
        {
            foreach (var target in edges.GetValueOrDefault(id, []).Where(t => edges.ContainsKey(t) && reached.Add(t)))
            {
                queue.Enqueue(target);
            }
        }

        foreach (var (id, path, _) in nodes.Where(n => !reached.Contains(n.Id)).OrderBy(n => n.Index))
        {
            problems.Warn(path, "unreachable_node", $"No path from \"{start}\" leads to \"{id}\".");
        }
    }

    /// <summary>
    /// A cycle that never waits for a person runs until the loop guard stops it. With a way out, that may be a
    /// bounded retry loop (a warning); with no way out at all, it can only ever trip the guard (an error).
    /// </summary>
    private static void CheckLoops(List<(CompiledNode Node, NodeSpec Spec, int Index)> specs, Dictionary<string, List<string>> edges, ProblemCollector problems)
    {
        var byId = specs.ToDictionary(s => s.Node.Id);
        foreach (var component in StronglyConnected(edges))
        {
            var members = component.ToHashSet(StringComparer.Ordinal);
            var isCycle = members.Count > 1 || edges[component[0]].Contains(component[0]);
            if (!isCycle || component.Any(id => byId[id].Node.Handler.WaitsForPeople))
            {
                continue;
            }

            var ordered = component.OrderBy(id => byId[id].Index).ToList();
            var path = byId[ordered[0]].Spec.Path;
            var names = string.Join(" -> ", ordered);
            if (ordered.Any(id => edges[id].Any(t => !members.Contains(t))))
            {
                problems.Warn(path, "loop_without_input", $"The loop {names} never waits for input; only the loop guard bounds it.");
            }
            else
            {
                problems.Error(path, "unbounded_loop", $"The loop {names} has no way out and never waits for input.");
            }
        }
    }

    /// <summary>Tarjan's algorithm, iterative so that a long chain of nodes cannot overflow the stack.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, List<string>> edges)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var onStack = new HashSet<string>();
        var stack = new Stack<string>();
        var components = new List<List<string>>();
        var counter = 0;

        foreach (var root in edges.Keys)
        {
            if (index.ContainsKey(root))
            {
                continue;
            }

            var work = new Stack<(string Node, int NextEdge)>();
            work.Push((root, 0));
            index[root] = low[root] = counter++;
            stack.Push(root);
            onStack.Add(root);
            while (work.Count > 0)
            {
                var (node, nextEdge) = work.Pop();
                var targets = edges[node].Where(edges.ContainsKey).ToList();
                if (nextEdge < targets.Count)
                {
                    work.Push((node, nextEdge + 1));
                    var target = targets[nextEdge];
                    if (!index.ContainsKey(target))
                    {
                        index[target] = low[target] = counter++;
                        stack.Push(target);
                        onStack.Add(target);
                        work.Push((target, 0));
                    }
                    else if (onStack.Contains(target))
                    {
                        low[node] = Math.Min(low[node], index[target]);
                    }

                    continue;
                }

                if (work.Count > 0)
                {
                    var parent = work.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[node]);
                }

                if (low[node] == index[node])
                {
                    var component = new List<string>();
                    string member;
                    do
                    {
                        member = stack.Pop();
                        onStack.Remove(member);
                        component.Add(member);
                    }
                    while (member != node);
                    components.Add(component);
                }
            }
        }

        return components;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,100}$")]
    private static partial Regex NodeIdPattern();
}
