using Sessions.Runtime.Errors;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Validation;

namespace Sessions.Runtime.Conditions;

/// <summary>Reads a condition from a definition, reporting every mistake with its JSON path.</summary>
public static class ConditionParser
{
    private static readonly TimeSpan RegexBudget = TimeSpan.FromMilliseconds(100);

    private static readonly Dictionary<string, ComparisonOperator> Operators = Enum.GetValues<ComparisonOperator>()
        .ToDictionary(o => o.ToString().ToLowerInvariant());

    public static Condition? Parse(JsonNode? node, string path, ProblemCollector problems)
    {
        if (node is not JsonObject obj)
        {
            problems.Error(path, "invalid_condition", "A condition is an object: { \"var\", \"op\", \"value\" }, or { \"all\" | \"any\": [...] }, or { \"not\": {...} }.");
            return null;
        }

        if (obj.TryGetPropertyValue("all", out var all))
        {
            return ParseList(all, $"{path}.all", problems) is { } list ? new AllCondition(list) : null;
        }

        if (obj.TryGetPropertyValue("any", out var any))
        {
            return ParseList(any, $"{path}.any", problems) is { } list ? new AnyCondition(list) : null;
        }

        if (obj.TryGetPropertyValue("not", out var not))
        {
            return Parse(not, $"{path}.not", problems) is { } inner ? new NotCondition(inner) : null;
        }

        return ParseComparison(obj, path, problems);
    }

    private static List<Condition>? ParseList(JsonNode? node, string path, ProblemCollector problems)
    {
        if (node is not JsonArray array || array.Count == 0)
        {
            problems.Error(path, "invalid_condition", "Expected a non-empty array of conditions.");
            return null;
        }

        var conditions = array.Select((c, i) => Parse(c, $"{path}[{i}]", problems)).ToList();
        return conditions.All(c => c is not null) ? conditions.Select(c => c!).ToList() : null;
    }

    private static Comparison? ParseComparison(JsonObject obj, string path, ProblemCollector problems)
    {
        var ok = true;
        var variable = obj["var"] is JsonValue varNode && varNode.GetValueKind() == JsonValueKind.String ? varNode.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(variable))
        {
            problems.Error($"{path}.var", "missing_field", "A comparison names the variable it reads in \"var\".");
            ok = false;
        }

        ComparisonOperator op = default;
        if (obj["op"] is not JsonValue opNode || opNode.GetValueKind() != JsonValueKind.String || !Operators.TryGetValue(opNode.GetValue<string>(), out op))
        {
            problems.Error($"{path}.op", "unknown_operator", $"\"op\" is one of: {string.Join(", ", Operators.Keys)}{(obj["op"] is JsonValue sent ? $", not {ProblemText.Shorten(sent.ToJsonString())}" : "")}.");
            ok = false;
        }

        var hasValue = obj.TryGetPropertyValue("value", out var value);
        Regex? pattern = null;
        if (ok && op != ComparisonOperator.Exists && !hasValue)
        {
            problems.Error($"{path}.value", "missing_field", $"The operator \"{op.ToString().ToLowerInvariant()}\" compares with a \"value\".");
            ok = false;
        }
        else if (ok && op is ComparisonOperator.Gt or ComparisonOperator.Gte or ComparisonOperator.Lt or ComparisonOperator.Lte
                 && value is not JsonValue)
        {
            problems.Error($"{path}.value", "invalid_value", "Ordering operators compare with a number or a string.");
            ok = false;
        }
        else if (ok && op == ComparisonOperator.In && value is not JsonArray)
        {
            problems.Error($"{path}.value", "invalid_value", "\"in\" compares with an array of values.");
            ok = false;
        }
        else if (ok && op == ComparisonOperator.Matches)
        {
            pattern = CompilePattern(value, $"{path}.value", problems);
            ok = pattern is not null;
        }

        return ok ? new Comparison(variable!, op, value?.DeepClone(), pattern) : null;
    }

    /// <summary>
    /// Condition patterns match in linear time (<see cref="RegexOptions.NonBacktracking"/>), so no pattern, however
    /// nested its quantifiers, can backtrack catastrophically on a user's reply; the constructs that need backtracking
    /// (backreferences, lookarounds, atomic groups) are refused at upload. The match timeout stays as a last bound.
    /// </summary>
    public static Regex? CompilePattern(JsonNode? value, string path, ProblemCollector problems)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            problems.Error(path, "invalid_pattern", "A pattern is a regular expression string.");
            return null;
        }

        try
        {
            return new Regex(v.GetValue<string>(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, RegexBudget);
        }
        catch (ArgumentException ex)
        {
            problems.Error(path, "invalid_pattern", $"Not a valid regular expression: {ex.Message}");
            return null;
        }
        catch (NotSupportedException ex)
        {
            problems.Error(path, "invalid_pattern", $"Conditions match in linear time and so take no backreferences, lookarounds or atomic groups: {ex.Message}");
            return null;
        }
    }
}
