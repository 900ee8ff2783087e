using System.Text.Json.Nodes;
using Sessions.Runtime.Recordings;

namespace Sessions.Runtime.Nodes;

/// <summary>What a handler may read: its node, the run's variables (a snapshot it must not change), the turn.</summary>
public sealed class NodeContext(
    CompiledNode node,
    JsonObject variables,
    int turnNumber,
    DateTimeOffset now,
    string tenantId = "",
    JsonArray? conversation = null,
    Action<string>? onDelta = null,
    bool retrying = false,
    Action<StepsProgress>? onSteps = null,
    bool isStep = false,
    CallLedger? calls = null)
{
    /// <summary>
    /// Where the node makes any call outside the server (a model, an HTTP service): it is kept with the turn, and a
    /// recorded replay answers it from the run it replays.
    /// </summary>
    public CallLedger Calls { get; } = calls ?? CallLedger.Unrecorded();

    /// <summary>True when the node runs as a step of a `parallel` node: nothing follows it but its outputs.</summary>
    public bool IsStep { get; } = isStep;

    /// <summary>
    /// True when the `retry` command runs this node again after it failed the run: a node that keeps partial results
    /// (a `parallel` node's finished steps) may keep them instead of doing their work again.
    /// </summary>
    public bool Retrying { get; } = retrying;

    /// <summary>Where a node that runs steps reports how far they have got, for readers of a running run (not stored).</summary>
    public Action<StepsProgress>? OnSteps { get; } = onSteps;

    /// <summary>The latest messages of the conversation, oldest first, each `{ "role": "user"|"assistant", "text" }`.</summary>
    public JsonArray Conversation { get; } = conversation ?? [];

    /// <summary>Set when a client streams the turn: a node may hand it partial text as it arrives (not stored).</summary>
    public Action<string>? OnDelta { get; } = onDelta;

    /// <summary>Whose run this is: what a node may use of per-tenant settings, such as secrets.</summary>
    public string TenantId { get; } = tenantId;

    public CompiledNode Node { get; } = node;

    public JsonObject Variables { get; } = variables;

    public int TurnNumber { get; } = turnNumber;

    /// <summary>The turn's clock; in a recorded replay, the time the replayed turn ran at first.</summary>
    public DateTimeOffset Now { get; } = now;

    public TConfig Config<TConfig>() => (TConfig)Node.Config!;
}

/// <summary>How far a `parallel` node's steps have got: how many there are, how many finished, which are running.</summary>
public sealed record StepsProgress(int Total, int Completed, IReadOnlyList<string> Current);
