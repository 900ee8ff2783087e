using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Validation;

namespace Sessions.Runtime.Nodes;

/// <summary>
/// `self_loop` on any node: run it again while it fails, or while `while` holds after an attempt, bounded by
/// `max_retries` and/or `expiry_seconds` (at least one), waiting `seconds_between_retries` between attempts.
/// </summary>
public sealed record SelfLoop(int? MaxRetries, TimeSpan? Expiry, TimeSpan Between, Condition? While)
{
    private const int MaxRetriesLimit = 1000;
    private const double MaxSeconds = 3600;

    public static SelfLoop? Parse(JsonObject node, string nodePath, ProblemCollector problems)
    {
        if (!node.TryGetPropertyValue("self_loop", out var value) || value is null)
        {
            return null;
        }

        var path = $"{nodePath}.self_loop";
        if (value is not JsonObject loop)
        {
            problems.Error(path, "invalid_type", "\"self_loop\" is an object with max_retries and/or expiry_seconds.");
            return null;
        }

        var maxRetries = Number(loop, "max_retries", path, problems, whole: true, MaxRetriesLimit);
        var expiry = Number(loop, "expiry_seconds", path, problems, whole: false, MaxSeconds);
        var between = Number(loop, "seconds_between_retries", path, problems, whole: false, MaxSeconds) ?? 0;
        if (maxRetries is null && expiry is null)
        {
            problems.Error(path, "missing_loop_bound", "A self_loop needs max_retries or expiry_seconds (or both), so that it ends.");
        }

        var condition = loop.TryGetPropertyValue("while", out var whileNode) ? ConditionParser.Parse(whileNode, $"{path}.while", problems) : null;
        return new SelfLoop((int?)maxRetries, expiry is { } e ? TimeSpan.FromSeconds(e) : null, TimeSpan.FromSeconds(between), condition);
    }

    private static double? Number(JsonObject loop, string field, string path, ProblemCollector problems, bool whole, double max)
    {
        if (!loop.TryGetPropertyValue(field, out var node) || node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var number)
            && number >= 0 && number <= max && (!whole || number == Math.Floor(number)))
        {
            return number;
        }

        problems.Error($"{path}.{field}", "invalid_value", $"\"{field}\" is a {(whole ? "whole " : string.Empty)}number from 0 to {max}.");
        return null;
    }
}
