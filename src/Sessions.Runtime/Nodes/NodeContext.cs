using System.Text.Json.Nodes;

namespace Sessions.Runtime.Nodes;

/// <summary>What a handler may read: its node, the run's variables (a snapshot it must not change), the turn.</summary>
public sealed class NodeContext(
    CompiledNode node,
    JsonObject variables,
    int turnNumber,
    DateTimeOffset now,
    string tenantId = "",
    JsonArray? conversation = null,
    Action<string>? onDelta = null)
{
    /// <summary>The latest messages of the conversation, oldest first, each `{ "role": "user"|"assistant", "text" }`.</summary>
    public JsonArray Conversation { get; } = conversation ?? [];

    /// <summary>Set when a client streams the turn: a node may hand it partial text as it arrives (not stored).</summary>
    public Action<string>? OnDelta { get; } = onDelta;

    /// <summary>Whose run this is: what a node may use of per-tenant settings, such as secrets.</summary>
    public string TenantId { get; } = tenantId;

    public CompiledNode Node { get; } = node;

    public JsonObject Variables { get; } = variables;

    public int TurnNumber { get; } = turnNumber;

    public DateTimeOffset Now { get; } = now;

    public TConfig Config<TConfig>() => (TConfig)Node.Config!;
}
