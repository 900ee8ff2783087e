using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Templates;

namespace Sessions.Runtime.Nodes;

/// <summary>
/// A node's JSON as a handler reads it at upload: typed getters that report problems at their JSON paths,
/// template compilation, and edges that the compiler checks against the other nodes once all are read.
/// </summary>
public sealed class NodeSpec(JsonObject json, string path, ProblemCollector problems, TemplateEngine templates, Func<JsonObject, string, CompiledNode?>? compileNode = null)
{
    private readonly List<(string Target, string Path)> edges = [];

    public JsonObject Json { get; } = json;

    public string Path { get; } = path;

    public ProblemCollector Problems { get; } = problems;

    public string Id => Json["id"]?.GetValue<string>() ?? string.Empty;

    internal IReadOnlyList<(string Target, string Path)> Edges => edges;

    public string FieldPath(string field) => $"{Path}.{field}";

    public void Error(string field, string code, string message) => Problems.Error(FieldPath(field), code, message);

    public string? String(string field, bool required)
    {
        var node = Json[field];
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }

        if (node is not null || required)
        {
            Error(field, node is null ? "missing_field" : "invalid_type", $"\"{field}\" is {(required ? "a required" : "a")} string.");
        }

        return null;
    }

    /// <summary>
    /// An optional true or false; null when absent, refused (and null) when it is anything else. With
    /// <paramref name="checkedSinceStored"/>, a field whose wrong value was once ignored: refused on upload only.
    /// </summary>
    public bool? Boolean(string field, bool checkedSinceStored = false)
    {
        switch (Json[field])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                return v.GetValue<bool>();
            default:
                if (checkedSinceStored)
                {
                    Problems.ErrorOnUpload(FieldPath(field), "invalid_type", $"\"{field}\" is true or false.");
                }
                else
                {
                    Error(field, "invalid_type", $"\"{field}\" is true or false.");
                }

                return null;
        }
    }

    /// <summary>An optional duration in seconds, above 0 and at most <paramref name="most"/>; null when absent or wrong.</summary>
    public TimeSpan? Seconds(string field, TimeSpan most)
    {
        if (Json[field] is not { } node)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue<double>(out var seconds) && seconds > 0 && seconds <= most.TotalSeconds)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        Error(field, "invalid_value", $"\"{field}\" is a number of seconds above 0, at most {most.TotalSeconds}.");
        return null;
    }

    public Template? Template(string field, bool required) =>
        String(field, required) is { } source ? CompileTemplate(source, FieldPath(field)) : null;

    public Template? CompileTemplate(string source, string path)
    {
        var template = templates.TryCompile(source, out var error);
        if (template is null)
        {
            Problems.Error(path, "invalid_template", $"The template does not parse: {error}");
        }

        return template;
    }

    /// <summary>
    /// Compiles a node held inside this one (a step of a `parallel` node) with its own type's handler, reporting its
    /// problems at <paramref name="at"/>; null when its type is unknown. It is not part of the graph: it has no edges.
    /// </summary>
    public CompiledNode? CompileNode(JsonObject node, string at) =>
        compileNode?.Invoke(node, at) ?? throw new InvalidOperationException("This definition does not compile inner nodes.");

    /// <summary>Declares that this node can lead to <paramref name="target"/>, named at <paramref name="path"/>.</summary>
    public void Edge(string target, string path) => edges.Add((target, path));
}
