using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions.Runtime.Nodes;

namespace Sessions.Nodes;

public static class NodesServiceCollectionExtensions
{
    /// <summary>
    /// Registers every node handler of this assembly (adding a node type is adding one class), each wrapped in the
    /// decorator that times it.
    /// </summary>
    public static IServiceCollection AddSessionsNodes(this IServiceCollection services) =>
        services
            .TryAddSecretStore()
            .Scan(scan => scan
                .FromAssemblyOf<SayHandler>()
                .AddClasses(classes => classes.AssignableTo<INodeHandler>())
                .As<INodeHandler>()
                .WithSingletonLifetime())
            .Decorate<INodeHandler, InstrumentedNodeHandler>();

    private static IServiceCollection TryAddSecretStore(this IServiceCollection services)
    {
        services.TryAddSingleton<ISecretStore, NoSecrets>();
        return services;
    }
}
