using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.History;

/// <summary>
/// One turn for support staff: what came in and went out, its events, what the run knew after it, and which variables
/// the turn changed.
/// </summary>
/// <param name="StateAfter">The run after the turn; null for a turn recorded before checkpoints were kept.</param>
/// <param name="Changes">The variables the turn added, removed or changed; null when either state is unknown.</param>
public sealed record TurnDetails(TurnRecord Record, RunDocument? StateAfter, VariableChanges? Changes);

/// <summary>Variables a turn changed, by top-level name: added with their value, removed with the value they had, changed with both.</summary>
public sealed record VariableChanges(JsonObject Added, JsonObject Removed, JsonObject Changed)
{
    /// <param name="before">The variables before the turn; null before the run's first turn (nothing was set).</param>
    public static VariableChanges Between(JsonObject? before, JsonObject after)
    {
        var added = new JsonObject();
        var removed = new JsonObject();
        var changed = new JsonObject();
        foreach (var (name, value) in after)
        {
            if (before is null || !before.TryGetPropertyValue(name, out var old))
            {
                added[name] = value?.DeepClone();
            }
            else if (!JsonNode.DeepEquals(old, value))
            {
                changed[name] = new JsonObject { ["before"] = old?.DeepClone(), ["after"] = value?.DeepClone() };
            }
        }

        foreach (var (name, old) in before ?? [])
        {
            if (!after.ContainsKey(name))
            {
                removed[name] = old?.DeepClone();
            }
        }

        return new VariableChanges(added, removed, changed);
    }
}
