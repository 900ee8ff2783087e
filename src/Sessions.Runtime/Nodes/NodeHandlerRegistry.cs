namespace Sessions.Runtime.Nodes;

/// <summary>Every node handler, indexed by node type. Two handlers claiming one type is a startup failure, not a coin toss.</summary>
public sealed class NodeHandlerRegistry
{
    private readonly Dictionary<string, INodeHandler> handlers = new(StringComparer.Ordinal);

    public NodeHandlerRegistry(IEnumerable<INodeHandler> handlers)
    {
        foreach (var handler in handlers)
        {
            if (!this.handlers.TryAdd(handler.NodeType, handler))
            {
                throw new InvalidOperationException(
                    $"Two node handlers claim the node type '{handler.NodeType}': {this.handlers[handler.NodeType].GetType().FullName} and {handler.GetType().FullName}.");
            }
        }
    }

    public IReadOnlyCollection<string> NodeTypes => handlers.Keys;

    public bool TryGet(string nodeType, out INodeHandler handler) => handlers.TryGetValue(nodeType, out handler!);
}
