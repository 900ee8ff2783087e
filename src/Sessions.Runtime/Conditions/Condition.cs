using System.Text.Json.Nodes;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Conditions;

/// <summary>A branch condition as data: a comparison, or all/any/not of conditions. Compiled at upload, evaluated per turn.</summary>
public abstract record Condition
{
    /// <param name="timeouts">
    /// Collects each `matches` that ran out of time (and so counted as no match), for a `condition_timeout` event.
    /// </param>
    public abstract bool Evaluate(JsonObject variables, ICollection<ConditionTimeout>? timeouts = null);

    /// <summary>The condition as the author wrote it, for the `conditional_edge` event.</summary>
    public abstract JsonNode ToJson();
}

public sealed record AllCondition(IReadOnlyList<Condition> Conditions) : Condition
{
    public override bool Evaluate(JsonObject variables, ICollection<ConditionTimeout>? timeouts = null) => Conditions.All(c => c.Evaluate(variables, timeouts));

    public override JsonNode ToJson() => new JsonObject { ["all"] = new JsonArray(Conditions.Select(c => c.ToJson()).ToArray()) };
}

public sealed record AnyCondition(IReadOnlyList<Condition> Conditions) : Condition
{
    public override bool Evaluate(JsonObject variables, ICollection<ConditionTimeout>? timeouts = null) => Conditions.Any(c => c.Evaluate(variables, timeouts));

    public override JsonNode ToJson() => new JsonObject { ["any"] = new JsonArray(Conditions.Select(c => c.ToJson()).ToArray()) };
}

public sealed record NotCondition(Condition Inner) : Condition
{
    public override bool Evaluate(JsonObject variables, ICollection<ConditionTimeout>? timeouts = null) => !Inner.Evaluate(variables, timeouts);

    public override JsonNode ToJson() => new JsonObject { ["not"] = Inner.ToJson() };
}

/// <summary>A `matches` that ran out of its time budget on a variable's text, and so counted as no match.</summary>
public sealed record ConditionTimeout(string Variable, string Pattern, TimeSpan Budget)
{
    /// <summary>The `condition_timeout` warning event.</summary>
    public ConditionTimedOut ToEvent() => new(Variable, Pattern, (long)Budget.TotalMilliseconds);
}
