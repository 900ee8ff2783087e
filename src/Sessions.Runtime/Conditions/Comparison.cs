using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Values;

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
    public override bool Evaluate(JsonObject variables, ICollection<ConditionTimeout>? timeouts = null)
    {
        if (Operator == ComparisonOperator.Exists)
        {
            var exists = VariablePath.Exists(variables, Variable) && VariablePath.Get(variables, Variable) is not null;
            return Value is JsonValue v && v.GetValueKind() == JsonValueKind.False ? !exists : exists;
        }

        var actual = VariablePath.Get(variables, Variable);
        return Operator switch
        {
            ComparisonOperator.Eq => JsonValues.AreEqual(actual, Value),
            ComparisonOperator.Ne => !JsonValues.AreEqual(actual, Value),
            ComparisonOperator.Gt => Compare(actual, Value) is > 0,
            ComparisonOperator.Gte => Compare(actual, Value) is >= 0,
            ComparisonOperator.Lt => Compare(actual, Value) is < 0,
            ComparisonOperator.Lte => Compare(actual, Value) is <= 0,
            ComparisonOperator.Contains => Contains(actual, Value),
            ComparisonOperator.Matches => actual is JsonValue s && s.GetValueKind() == JsonValueKind.String && Matches(s.GetValue<string>(), timeouts),
            ComparisonOperator.In => Value is JsonArray options && options.Any(o => JsonValues.AreEqual(o, actual)),
            _ => false,
        };
    }

    /// <summary>A match that runs out of time is no match: a condition never fails a run or a request.</summary>
    private bool Matches(string text, ICollection<ConditionTimeout>? timeouts)
    {
        try
        {
            return Pattern!.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            timeouts?.Add(new ConditionTimeout(Variable, Pattern!.ToString(), Pattern.MatchTimeout));
            return false;
        }
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
        if (JsonValues.TryGetNumber(left, out var l) && JsonValues.TryGetNumber(right, out var r))
        {
            return l.CompareTo(r);
        }

        return left is JsonValue ls && ls.GetValueKind() == JsonValueKind.String && right is JsonValue rs && rs.GetValueKind() == JsonValueKind.String
            ? string.CompareOrdinal(ls.GetValue<string>(), rs.GetValue<string>())
            : null;
    }

    private static bool Contains(JsonNode? haystack, JsonNode? needle) => haystack switch
    {
        JsonArray items => items.Any(i => JsonValues.AreEqual(i, needle)),
        JsonValue s when s.GetValueKind() == JsonValueKind.String && needle is JsonValue n && n.GetValueKind() == JsonValueKind.String =>
            s.GetValue<string>().Contains(n.GetValue<string>(), StringComparison.OrdinalIgnoreCase),
        JsonObject obj when needle is JsonValue key && key.GetValueKind() == JsonValueKind.String => obj.ContainsKey(key.GetValue<string>()),
        _ => false,
    };
}
