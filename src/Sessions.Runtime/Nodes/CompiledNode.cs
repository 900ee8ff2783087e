
namespace Sessions.Runtime.Nodes;

/// <summary>A node as the runtime executes it: parsed once, with its handler resolved and its own config compiled.</summary>
public sealed record CompiledNode(string Id, string Type, string? Next, object? Config, INodeHandler Handler, IReadOnlyList<string> Successors, SelfLoop? SelfLoop = null);
