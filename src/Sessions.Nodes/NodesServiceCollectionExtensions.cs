using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions.Nodes.Llm;
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
            .AddOutboundHttp()
            .AddSingleton<LlmGateway>()
            .AddOptionsFor<LlmOptions>()
            .Scan(scan => scan
                .FromAssemblyOf<SayHandler>()
                .AddClasses(classes => classes.AssignableTo<INodeHandler>())
                .As<INodeHandler>()
                .WithSingletonLifetime())
            .Decorate<INodeHandler, InstrumentedNodeHandler>();

    /// <summary>The options exist even where the host binds nothing to them (no model configurations).</summary>
    private static IServiceCollection AddOptionsFor<TOptions>(this IServiceCollection services)
        where TOptions : class
    {
        services.AddOptions<TOptions>();
        return services;
    }

    /// <summary>
    /// The http_request node's client, from the factory: pooled handlers recycled so DNS changes are seen; timeouts and
    /// retries come from the node's own pipeline, and an answer is bounded (<see cref="HttpRequestHandler.MaxResponseBytes"/>).
    /// </summary>
    private static IServiceCollection AddOutboundHttp(this IServiceCollection services)
    {
        services.AddHttpClient(HttpRequestHandler.ClientName, client =>
        {
            client.Timeout = Timeout.InfiniteTimeSpan;
            client.MaxResponseContentBufferSize = HttpRequestHandler.MaxResponseBytes;
        });

        // The SDK sets its own network timeout per attempt; the node's pipeline bounds the whole call.
        services.AddHttpClient(LlmGateway.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        return services;
    }

    private static IServiceCollection TryAddSecretStore(this IServiceCollection services)
    {
        services.TryAddSingleton<ISecretStore, NoSecrets>();

        // Steps wait out their backoff on the host's clock, which tests may replace.
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
