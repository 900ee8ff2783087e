using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Storage.MongoDb;

public static class MongoServiceCollectionExtensions
{
    /// <summary>The document store. Bind <see cref="MongoStoreOptions"/> (section Sessions:MongoDb) in the host.</summary>
    public static IServiceCollection AddMongoStore(this IServiceCollection services)
    {
        services.AddSingleton<MongoDatabase>();
        services.AddSingleton<IStoreLifecycle>(sp => sp.GetRequiredService<MongoDatabase>());
        services.AddSingleton<IWorkflowStore, MongoWorkflowStore>();
        services.AddSingleton<IRunStore, MongoRunStore>();
        services.AddSingleton<IIdempotencyStore, MongoIdempotencyStore>();
        services.AddSingleton<IConversationStore, MongoConversationStore>();
        services.AddSingleton<IWebhookStore, MongoWebhookStore>();
        services.AddSingleton<IFileStore, MongoFileStore>();
        services.AddSingleton<IBatchStore, MongoBatchStore>();

        // Servers share the database: each turn leases its run.
        services.AddSingleton<IRunGate, LeasedRunGate>();
        return services;
    }
}
