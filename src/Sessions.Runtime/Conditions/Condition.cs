using System.Text.Json.Nodes;

namespace Sessions.Runtime.Conditions;

/// <summary>A branch condition as data: a comparison, or all/any/not of conditions. Compiled at upload, evaluated per turn.</summary>
public abstract record Condition
{
    public abstract bool Evaluate(JsonObject variables);

    /// <summary>The condition as the author wrote it, for the `conditional_edge` event.</summary>
    public abstract JsonNode ToJson();
}

public sealed record AllCondition(IReadOnlyList<Condition> Conditions) : Condition
{
    public override bool Evaluate(JsonObject variables) => Conditions.All(c => c.Evaluate(variables));

    public override JsonNode ToJson() => new JsonObject { ["all"] = new JsonArray(Conditions.Select(c => c.ToJson()).ToArray()) };
}

public sealed record AnyCondition(IReadOnlyList<Condition> Conditions) : Condition
{
    public override bool Evaluate(JsonObject variables) => Conditions.Any(c => c.Evaluate(variables));

    public override JsonNode ToJson() => new JsonObject { ["any"] = new JsonArray(Conditions.Select(c => c.ToJson()).ToArray()) };
}

public sealed record NotCondition(Condition Inner) : Condition
{
    public override bool Evaluate(JsonObject variables) => !Inner.Evaluate(variables);

    public override JsonNode ToJson() => new JsonObject { ["not"] = Inner.ToJson() };
}
