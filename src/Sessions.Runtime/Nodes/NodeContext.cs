using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;

namespace Sessions.Runtime.Nodes;

/// <summary>What a handler may read: its node, the run's variables (a snapshot it must not change), the turn.</summary>
public sealed class NodeContext(CompiledNode node, JsonObject variables, int turnNumber, DateTimeOffset now)
{
    public CompiledNode Node { get; } = node;

    public JsonObject Variables { get; } = variables;

    public int TurnNumber { get; } = turnNumber;

    public DateTimeOffset Now { get; } = now;

    public TConfig Config<TConfig>() => (TConfig)Node.Config!;
}
