using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Sessions.Testing;

/// <summary>
/// The definition format's JSON Schema as editors read it (docs/schemas/workflow-definition.json), evaluated by an
/// independent implementation (JsonSchema.Net), so tests can hold the schema and the server's compiler to each other.
/// </summary>
public static class WorkflowSchema
{
    /// <summary>
    /// Refusals of the compiler that are about a definition's shape (a field missing, of the wrong type, a value outside
    /// an enum or a pattern): the schema must refuse what these refuse. The others (an edge to no node, a loop, a
    /// template that does not parse, an unknown model configuration) need more than a schema can say.
    /// </summary>
    public static readonly IReadOnlySet<string> ShapeCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        "missing_field", "invalid_type", "unknown_node_type", "invalid_node_id", "unknown_operator", "unknown_input_kind",
        "invalid_input", "invalid_variable", "invalid_step_id", "invalid_step_type", "step_waits_for_people", "missing_loop_bound",
        "invalid_retries", "invalid_output", "invalid_message", "invalid_url", "invalid_mapping", "invalid_definition",
    };

    public static string FilePath { get; } = Path.Combine(Repository.Root, "docs", "schemas", "workflow-definition.json");

    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(FilePath), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    /// <summary>Where and why the schema refuses <paramref name="definition"/>; empty when it validates.</summary>
    public static IReadOnlyList<string> Problems(JsonNode? definition)
    {
        using var document = JsonDocument.Parse(definition?.ToJsonString() ?? "null");
        var results = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return results.IsValid
            ? []
            : (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value} ({d.EvaluationPath})"))
                .DefaultIfEmpty("invalid")
                .ToList();
    }

    /// <summary>
    /// Fails when the schema and the compiler disagree about <paramref name="definition"/>: the compiler accepted it
    /// (<paramref name="errorCodes"/> empty) without warning of a field it ignores and the schema refuses it, or the
    /// compiler refused its shape and the schema accepts it. (A field the compiler ignores, with a warning, is one the
    /// schema refuses: that is how an editor flags a misspelling.)
    /// </summary>
    public static void AgreesWithCompiler(JsonNode? definition, IEnumerable<string> errorCodes, IEnumerable<string> warningCodes)
    {
        var codes = errorCodes.ToList();
        var problems = Problems(definition);
        if (codes.Count == 0 && problems.Count > 0 && !warningCodes.Contains("ignored_field"))
        {
            throw new Xunit.Sdk.XunitException($"The compiler accepts a definition its JSON Schema refuses:\n{string.Join("\n", problems)}\n{definition?.ToJsonString()}");
        }

        if (codes.Any(ShapeCodes.Contains) && problems.Count == 0)
        {
            throw new Xunit.Sdk.XunitException($"The compiler refuses a definition's shape ({string.Join(", ", codes)}) and its JSON Schema accepts it:\n{definition?.ToJsonString()}");
        }
    }
}
