using Sessions.Runtime.Turns;
using Sessions.Storage.MongoDb;
using Sessions.Storage.Postgres;
using Sessions.Storage.Sqlite;

namespace Sessions.Api.Hosting;

/// <summary>
/// `Sessions:Store` picks the provider: `sqlite` (the default, embedded), `postgres` or `mongodb` (each shared by several
/// instances).
/// </summary>
public static class StoreSelection
{
    public const string Key = "Sessions:Store";

    public const int MaxJsonDepthOnMongoDb = 90;

    public static IServiceCollection AddConfiguredStore(this IServiceCollection services, IConfiguration configuration)
    {
        var store = configuration[Key] ?? "sqlite";
        switch (store.ToLowerInvariant())
        {
            case "sqlite":
                services.AddOptions<SqliteStoreOptions>().BindConfiguration(SqliteStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
                return services.AddSqliteStore();
            case "postgres":
                services.AddOptions<PostgresStoreOptions>().BindConfiguration(PostgresStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
                return services.AddPostgresStore();
            case "mongodb":
                services.AddOptions<MongoStoreOptions>().BindConfiguration(MongoStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();

                // MongoDB keeps documents at most 100 levels deep; a turn's record nests the variables a few levels down.
                services.AddOptions<TurnOptions>()
                    .Validate(turns => turns.MaxJsonDepth <= MaxJsonDepthOnMongoDb, $"Sessions:Turns:MaxJsonDepth is at most {MaxJsonDepthOnMongoDb} on MongoDB, which stores documents at most 100 levels deep.")
                    .ValidateOnStart();
                return services.AddMongoStore();
            default:
                throw new UnknownStoreException($"{Key} is '{store}'; it is 'sqlite', 'postgres' or 'mongodb'.");
        }
    }
}

/// <summary>`Sessions:Store` names no provider.</summary>
public sealed class UnknownStoreException(string message) : Exception(message);
