using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// The store a test class runs the server on: the embedded SQLite file (in the factory's temp folder), or a PostgreSQL
/// database of its own on the server `.ci/run` starts, dropped afterwards. Suites that must hold on both take one.
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
        return MultiInstanceTests.OnPostgres(database.ConnectionString);
    }

    public override ValueTask DisposeAsync() => database?.DisposeAsync() ?? ValueTask.CompletedTask;
}
