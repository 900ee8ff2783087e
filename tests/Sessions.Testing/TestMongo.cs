using MongoDB.Driver;

namespace Sessions.Testing;

/// <summary>
/// A database of its own on the MongoDB replica set that SESSIONS_TEST_MONGODB names, dropped afterwards. No MongoDB
/// server can be installed on this project's CI machines, so tests that need one are marked
/// <c>[NeedsServer(TestMongo.Variable, ...)]</c> and skipped where it is not set.
/// </summary>
public sealed class TestMongo : IAsyncDisposable
{
    public const string Variable = "SESSIONS_TEST_MONGODB";

    public const string Server = "a MongoDB replica set";

    private TestMongo(string connectionString, string database)
    {
        ConnectionString = connectionString;
        Database = database;
    }

    public string ConnectionString { get; }

    public string Database { get; }

    public static TestMongo Create() => new(
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } server
            ? server
            : throw new InvalidOperationException($"{Variable} names no MongoDB server; tests that need one are skipped without it."),
        $"sessions_test_{Guid.NewGuid():n}");

    public async ValueTask DisposeAsync()
    {
        using var client = new MongoClient(ConnectionString);
        await client.DropDatabaseAsync(Database);
    }
}
