using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Storage.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>The server store. Bind <see cref="PostgresStoreOptions"/> (section Sessions:Postgres) in the host.</summary>
    public static IServiceCollection AddPostgresStore(this IServiceCollection services)
    {
        services.AddSingleton<PostgresDatabase>();
        services.AddSingleton<IStoreLifecycle>(sp => sp.GetRequiredService<PostgresDatabase>());
        services.AddSingleton<IWorkflowStore, PostgresWorkflowStore>();
        services.AddSingleton<IRunStore, PostgresRunStore>();
        services.AddSingleton<IIdempotencyStore, PostgresIdempotencyStore>();
        services.AddSingleton<IConversationStore, PostgresConversationStore>();
        services.AddSingleton<IWebhookStore, PostgresWebhookStore>();
        services.AddSingleton<IFileStore, PostgresFileStore>();
        services.AddSingleton<IBatchStore, PostgresBatchStore>();

        // Servers share the database: each turn leases its run.
        services.AddSingleton<IRunGate, LeasedRunGate>();
        return services;
    }
}
