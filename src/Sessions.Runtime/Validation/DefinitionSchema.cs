using Sessions.Runtime.Errors;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Validation;

/// <summary>
/// The JSON Schema of the definition format (docs/schemas/workflow-definition.json, built in as a resource): served to
/// editors as it is, and read here for the fields each node type and step takes, so that the compiler warns about a
/// field it would ignore (a misspelling) from the same declaration the editor completes from.
/// </summary>
public static class DefinitionSchema
{
    private static readonly Lazy<(string Text, Fields Fields)> Loaded = new(Load);

    /// <summary>The schema's JSON text, as kept in docs/schemas.</summary>
    public static string Text => Loaded.Value.Text;

    /// <summary>The fields a definition takes at its top level.</summary>
    public static IReadOnlySet<string> TopLevelFields => Loaded.Value.Fields.TopLevel;

    /// <summary>The fields a node of <paramref name="type"/> takes, or null for a type the schema does not describe.</summary>
    public static IReadOnlySet<string>? NodeFields(string type) => Loaded.Value.Fields.Nodes.GetValueOrDefault(type);

    /// <summary>The fields a step of <paramref name="type"/> takes, or null for a type that cannot be a step.</summary>
    public static IReadOnlySet<string>? StepFields(string type) => Loaded.Value.Fields.Steps.GetValueOrDefault(type);

    /// <summary>
    /// A field the schema does not declare where it stands is never read: most often a misspelling (`promt`), so the
    /// upload says so instead of running without it. <paramref name="fields"/> is null for a type the schema does not
    /// describe (a handler added by a host), whose fields are its own.
    /// </summary>
    public static void WarnIgnoredFields(JsonObject json, IReadOnlySet<string>? fields, string path, string what, ProblemCollector problems, string? except = null)
    {
        if (fields is null)
        {
            return;
        }

        foreach (var name in json.Select(f => f.Key).Where(name => !fields.Contains(name) && name != except))
        {
            problems.Warn($"{path}.{name}", "ignored_field",
                $"{what} has no field \"{ProblemText.Shorten(name)}\"; it is ignored. Its fields are: {string.Join(", ", fields.Order(StringComparer.Ordinal))}.");
        }
    }

    private sealed record Fields(IReadOnlySet<string> TopLevel, Dictionary<string, IReadOnlySet<string>> Nodes, Dictionary<string, IReadOnlySet<string>> Steps);

    private static (string, Fields) Load()
    {
        using var stream = typeof(DefinitionSchema).Assembly.GetManifestResourceStream("workflow-definition.schema.json")
            ?? throw new InvalidOperationException("The definition schema is not built into Sessions.Runtime.");
        var text = new StreamReader(stream).ReadToEnd();
        var schema = JsonNode.Parse(text)!.AsObject();
        var defs = schema["$defs"]!.AsObject();
        return (text, new Fields(Names(schema), ByType(defs["node"]!.AsObject(), defs), ByType(defs["step"]!.AsObject(), defs)));
    }

    /// <summary>
    /// For an object whose `allOf` holds one `if type is X then ...` per type: per type, the object's own properties and
    /// those of the `then` (following `$ref`s within the schema).
    /// </summary>
    private static Dictionary<string, IReadOnlySet<string>> ByType(JsonObject shape, JsonObject defs)
    {
        var byType = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var branch in shape["allOf"]!.AsArray().OfType<JsonObject>())
        {
            var type = branch["if"]!["properties"]!["type"]!["const"]!.GetValue<string>();
            var fields = new HashSet<string>(Names(shape), StringComparer.Ordinal);
            fields.UnionWith(Names(branch["then"]!.AsObject(), defs));
            byType[type] = fields;
        }

        return byType;
    }

    private static HashSet<string> Names(JsonObject shape, JsonObject? defs = null)
    {
        var names = (shape["properties"] as JsonObject)?.Select(p => p.Key).ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>(StringComparer.Ordinal);
        if (defs is not null && shape["$ref"]?.GetValue<string>() is { } reference)
        {
            names.UnionWith(Names(defs[reference["#/$defs/".Length..]]!.AsObject(), defs));
        }

        foreach (var part in (shape["allOf"] as JsonArray)?.OfType<JsonObject>().Where(p => p["if"] is null) ?? [])
        {
            names.UnionWith(Names(part, defs));
        }

        return names;
    }
}
