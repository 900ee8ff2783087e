namespace Sessions.Runtime.Nodes;

/// <summary>
/// One node type. A handler reads its node's compiled config and the run's variables from the context and returns
/// what happened; it never touches the store or HTTP, and never changes the run's status itself.
/// </summary>
public interface INodeHandler
{
    /// <summary>The `type` of the nodes this handler runs, unique across handlers.</summary>
    string NodeType { get; }

    /// <summary>Whether nodes of this type continue through a `next` field.</summary>
    bool UsesNext => true;

    /// <summary>Whether this node can end a turn to wait for a person, which is what makes a loop through it bounded.</summary>
    bool WaitsForPeople => false;

    /// <summary>
    /// Whether a node of this type, compiled as <paramref name="config"/>, may be a step of a `parallel` node: it does its
    /// work and continues, never waiting for a person or ending the run, and its assignments are its outputs.
    /// </summary>
    bool RunsAsStep(object? config) => false;

    /// <summary>
    /// Whether running a node of this type, compiled as <paramref name="config"/>, may reach outside the server (a model,
    /// an HTTP service): what must not happen twice for one turn, so that on a shared store the turn leases its run
    /// before such a node runs (<see cref="Turns.Gates.IRunGate"/>). A node that only works on the run in memory says no,
    /// and turns made only of such nodes are held by their commit's version check alone. Yes unless a handler knows better.
    /// </summary>
    bool ReachesOutside(object? config) => true;

    /// <summary>Reads and validates the node's own fields once, at upload; the result is kept as the node's config.</summary>
    object? Compile(NodeSpec spec);

    ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the user's reply to a node that returned <see cref="NodeResult.AwaitInput"/>: checks it and says where to go,
    /// or returns <see cref="NodeResult.RejectReply"/> without side effects. Only nodes that wait for input implement it.
    /// </summary>
    NodeResult AcceptReply(NodeContext context, string reply) =>
        throw new NotSupportedException($"'{NodeType}' nodes do not wait for replies.");
}
