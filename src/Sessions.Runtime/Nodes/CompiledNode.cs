
namespace Sessions.Runtime.Nodes;

/// <summary>A node as the runtime executes it: parsed once, with its handler resolved and its own config compiled.</summary>
public sealed record CompiledNode(string Id, string Type, string? Next, object? Config, INodeHandler Handler, IReadOnlyList<string> Successors, SelfLoop? SelfLoop = null)
{
    /// <summary>Every way out of the node, in the order the definition declares them, each with where it is declared.</summary>
    public IReadOnlyList<NodeEdge> Edges { get; init; } = [];
}

/// <summary>A way out of a node: the node it leads to, and the JSON path of the field that says so (`$.nodes[2].cases[0].next`).</summary>
public sealed record NodeEdge(string Target, string Path);
