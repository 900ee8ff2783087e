using Sessions.Storage.Postgres;
using Sessions.Storage.Sqlite;

namespace Sessions.Api.Hosting;

/// <summary>`Sessions:Store` picks the provider: `sqlite` (the default, embedded) or `postgres` (shared by several instances).</summary>
public static class StoreSelection
{
    public const string Key = "Sessions:Store";

    public static IServiceCollection AddConfiguredStore(this IServiceCollection services, IConfiguration configuration)
    {
        var store = configuration[Key] ?? "sqlite";
        switch (store.ToLowerInvariant())
        {
            case "sqlite":
                services.AddOptions<SqliteStoreOptions>().BindConfiguration(SqliteStoreOptions.Section);
                return services.AddSqliteStore();
            case "postgres":
                services.AddOptions<PostgresStoreOptions>().BindConfiguration(PostgresStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
                return services.AddPostgresStore();
            default:
                throw new InvalidOperationException($"{Key} is '{store}'; it is 'sqlite' or 'postgres'.");
        }
    }
}
