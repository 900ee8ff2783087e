using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Storage.Sqlite;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>The embedded store. Bind <see cref="SqliteStoreOptions"/> (section Sessions:Sqlite) in the host.</summary>
    public static IServiceCollection AddSqliteStore(this IServiceCollection services)
    {
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<IStoreLifecycle>(sp => sp.GetRequiredService<SqliteDatabase>());
        services.AddSingleton<IWorkflowStore, SqliteWorkflowStore>();
        services.AddSingleton<IRunStore, SqliteRunStore>();
        services.AddSingleton<IIdempotencyStore, SqliteIdempotencyStore>();
        services.AddSingleton<IWebhookStore, SqliteWebhookStore>();
        services.AddSingleton<IFileStore, SqliteFileStore>();
        services.AddSingleton<IBatchStore, SqliteBatchStore>();
        services.AddSingleton<IConversationStore, SqliteConversationStore>();

        // This process owns the file: it keeps the turns of a run apart in memory.
        services.AddSingleton<IRunGate, InProcessRunGate>();
        return services;
    }
}
