using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Templates;

namespace Sessions.Runtime.Conditions;

public enum ComparisonOperator
{
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    Matches,
    In,
    Exists,
}

/// <summary>
/// `{ "var", "op", "value" }`. Values compare with their JSON types: a number equals a number, never its text,
/// which is why replies are stored typed.
/// </summary>
public sealed record Comparison(string Variable, ComparisonOperator Operator, JsonNode? Value, Regex? Pattern) : Condition
{
    public override bool Evaluate(JsonObject variables)
    {
        if (Operator == ComparisonOperator.Exists)
        {
            var exists = VariablePath.Exists(variables, Variable) && VariablePath.Get(variables, Variable) is not null;
            return Value is JsonValue v && v.GetValueKind() == JsonValueKind.False ? !exists : exists;
        }

        var actual = VariablePath.Get(variables, Variable);
        return Operator switch
        {
            ComparisonOperator.Eq => JsonNode.DeepEquals(actual, Value),
            ComparisonOperator.Ne => !JsonNode.DeepEquals(actual, Value),
            ComparisonOperator.Gt => Compare(actual, Value) is > 0,
            ComparisonOperator.Gte => Compare(actual, Value) is >= 0,
            ComparisonOperator.Lt => Compare(actual, Value) is < 0,
            ComparisonOperator.Lte => Compare(actual, Value) is <= 0,
            ComparisonOperator.Contains => Contains(actual, Value),
            ComparisonOperator.Matches => actual is JsonValue s && s.GetValueKind() == JsonValueKind.String && Pattern!.IsMatch(s.GetValue<string>()),
            ComparisonOperator.In => Value is JsonArray options && options.Any(o => JsonNode.DeepEquals(o, actual)),
            _ => false,
        };
    }

    public override JsonNode ToJson()
    {
        var json = new JsonObject { ["var"] = Variable, ["op"] = Operator.ToString().ToLowerInvariant() };
        if (Value is not null || Operator != ComparisonOperator.Exists)
        {
            json["value"] = Value?.DeepClone();
        }

        return json;
    }

    /// <summary>Orders numbers with numbers and strings with strings; anything else does not compare (null).</summary>
    private static int? Compare(JsonNode? left, JsonNode? right)
    {
        if (left is not JsonValue l || right is not JsonValue r)
        {
            return null;
        }

        return (l.GetValueKind(), r.GetValueKind()) switch
        {
            (JsonValueKind.Number, JsonValueKind.Number) => l.GetValue<decimal>().CompareTo(r.GetValue<decimal>()),
            (JsonValueKind.String, JsonValueKind.String) => string.CompareOrdinal(l.GetValue<string>(), r.GetValue<string>()),
            _ => null,
        };
    }

    private static bool Contains(JsonNode? haystack, JsonNode? needle) => haystack switch
    {
        JsonArray items => items.Any(i => JsonNode.DeepEquals(i, needle)),
        JsonValue s when s.GetValueKind() == JsonValueKind.String && needle is JsonValue n && n.GetValueKind() == JsonValueKind.String =>
            s.GetValue<string>().Contains(n.GetValue<string>(), StringComparison.OrdinalIgnoreCase),
        JsonObject obj when needle is JsonValue key && key.GetValueKind() == JsonValueKind.String => obj.ContainsKey(key.GetValue<string>()),
        _ => false,
    };
}
