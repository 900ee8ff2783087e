using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Sessions.Storage.Conformance;
using Sessions.Testing;

namespace Sessions.Storage.Sqlite.Tests;

public sealed class SqliteStoreTests : StoreConformanceTests
{
    private readonly TempDirectory folder = new();
    private SqliteDatabase database = null!;

    public override async Task InitializeAsync()
    {
        database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = folder.File("nested/dir/sessions.db") }));
        await database.InitializeAsync(CancellationToken.None);
        Lifecycle = database;
        Workflows = new SqliteWorkflowStore(database);
        Runs = new SqliteRunStore(database);
        Keys = new SqliteIdempotencyStore(database);
        Deliveries = new SqliteWebhookStore(database);
        Files = new SqliteFileStore(database);
        Batches = new SqliteBatchStore(database);
        Conversations = new SqliteConversationStore(database);
    }

    public override async Task DisposeAsync()
    {
        await database.DisposeAsync();
        folder.Dispose();
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_with_every_migration_recorded_once()
    {
        await database.InitializeAsync(CancellationToken.None);
        await using var connection = await database.OpenAsync(CancellationToken.None);
        Assert.Equal("wal", await Scalar(connection, "PRAGMA journal_mode;"));
        Assert.Equal(2L, await Scalar(connection, "PRAGMA synchronous;"));
        Assert.Equal(12L, await Scalar(connection, "SELECT COUNT(*) FROM schema_migrations;"));
        Assert.True(File.Exists(folder.File("nested/dir/sessions.db")));
    }

    [Fact]
    public async Task A_second_store_on_the_same_file_refuses_to_start_until_the_first_is_gone()
    {
        var second = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = folder.File("nested/dir/sessions.db") }));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => second.InitializeAsync(CancellationToken.None));
        Assert.Contains("Another server process is using the SQLite store", refused.Message);

        await database.DisposeAsync();
        await second.InitializeAsync(CancellationToken.None);
        await second.DisposeAsync();
        database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = folder.File("other.db") }));
    }

    private static async Task<object?> Scalar(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
