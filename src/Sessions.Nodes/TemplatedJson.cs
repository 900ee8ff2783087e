using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes;

/// <summary>A JSON value whose strings are templates, compiled once: used for outputs shaped as objects.</summary>
internal sealed class TemplatedJson
{
    private readonly Func<JsonObject, JsonNode?> evaluate;

    private TemplatedJson(Func<JsonObject, JsonNode?> evaluate) => this.evaluate = evaluate;

    public JsonNode? Evaluate(JsonObject variables) => evaluate(variables);

    public static TemplatedJson Compile(JsonNode? node, string path, NodeSpec spec)
    {
        switch (node)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var template = spec.CompileTemplate(value.GetValue<string>(), path);
                return new TemplatedJson(vars => template?.Evaluate(vars));
            case JsonObject obj:
                var members = obj.Select(p => (p.Key, Value: Compile(p.Value, $"{path}.{p.Key}", spec))).ToList();
                return new TemplatedJson(vars => new JsonObject(members.Select(m => KeyValuePair.Create(m.Key, m.Value.Evaluate(vars)))));
            case JsonArray array:
                var items = array.Select((item, i) => Compile(item, $"{path}[{i}]", spec)).ToList();
                return new TemplatedJson(vars => new JsonArray(items.Select(i => i.Evaluate(vars)).ToArray()));
            default:
                var literal = node?.DeepClone();
                return new TemplatedJson(_ => literal?.DeepClone());
        }
    }
}
