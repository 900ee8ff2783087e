using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// The store a test class runs the server on: the embedded SQLite file (in the factory's temp folder), a PostgreSQL
/// database of its own on the server `.ci/run` starts, or a MongoDB database of its own where a replica set is named;
/// each dropped afterwards. Suites that must hold on every store take one.
/// </summary>
public abstract class StoreUnderTest : IAsyncDisposable
{
    /// <summary>The server settings that select this store; called once, before the server starts.</summary>
    public abstract Task<Dictionary<string, string?>> SettingsAsync();

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class SqliteStoreUnderTest : StoreUnderTest
{
    public override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

public sealed class PostgresStoreUnderTest : StoreUnderTest
{
    private TestPostgres? database;

    public string ConnectionString => database?.ConnectionString ?? throw new InvalidOperationException("The database is created by SettingsAsync.");

    public override async Task<Dictionary<string, string?>> SettingsAsync()
    {
        database = await TestPostgres.CreateAsync();
        return new()
        {
            ["Sessions:Store"] = "postgres",
            ["Sessions:Postgres:ConnectionString"] = database.ConnectionString,
            ["Sessions:RateLimit:PermitsPerSecond"] = "0",
        };
    }

    public override ValueTask DisposeAsync() => database?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>A database of its own on the replica set SESSIONS_TEST_MONGODB names; classes using it are marked to need that server.</summary>
public sealed class MongoStoreUnderTest : StoreUnderTest
{
    private TestMongo? database;

    public TestMongo Server => database ?? throw new InvalidOperationException("The database is named by SettingsAsync.");

    public override Task<Dictionary<string, string?>> SettingsAsync()
    {
        database = TestMongo.Create();
        return Task.FromResult(new Dictionary<string, string?>
        {
            ["Sessions:Store"] = "mongodb",
            ["Sessions:MongoDb:ConnectionString"] = database.ConnectionString,
            ["Sessions:MongoDb:Database"] = database.Database,
            ["Sessions:RateLimit:PermitsPerSecond"] = "0",
        });
    }

    public override ValueTask DisposeAsync() => database?.DisposeAsync() ?? ValueTask.CompletedTask;
}
