using Sessions.Runtime.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Sessions.Storage.Conformance;
using Sessions.Testing;

namespace Sessions.Storage.Sqlite.Tests;

public class SqliteStoreTests : StoreConformanceTests
{
    private readonly TempDirectory folder = new();
    private SqliteDatabase database = null!;

    /// <summary>The store's setting: the default here, every JSON column deflated in <see cref="SqliteDeflatedStoreTests"/>.</summary>
    protected virtual int CompressJsonOverBytes => new SqliteStoreOptions().CompressJsonOverBytes;

    protected SqliteDatabase Database => database;

    public override async Task InitializeAsync()
    {
        database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = folder.File("nested/dir/sessions.db"), CompressJsonOverBytes = CompressJsonOverBytes }));
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
        Assert.Equal(14L, await Scalar(connection, "SELECT COUNT(*) FROM schema_migrations;"));
        Assert.True(File.Exists(folder.File("nested/dir/sessions.db")));
    }

    /// <summary>
    /// The writer commits a write that found no other waiting in a transaction of its own, and a group's writes each in a
    /// savepoint: either way a write that fails leaves nothing, the others stay, and the writer goes on.
    /// </summary>
    [Fact]
    public async Task A_write_that_fails_leaves_nothing_alone_or_in_a_group_and_the_writer_goes_on()
    {
        static async Task<bool> Insert(SqliteConnection connection, SqliteTransaction transaction, int n, bool fail)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO scratch (n) VALUES ({n});";
            await insert.ExecuteNonQueryAsync();
            return fail ? throw new InvalidOperationException($"write {n} fails after its insert") : true;
        }

        await database.WriteAsync(async (connection, transaction) =>
        {
            await using var create = connection.CreateCommand();
            create.Transaction = transaction;
            create.CommandText = "CREATE TABLE scratch (n INTEGER NOT NULL);";
            return await create.ExecuteNonQueryAsync();
        }, CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => database.WriteAsync((c, t) => Insert(c, t, 1, fail: true), CancellationToken.None));
        Assert.True(await database.WriteAsync((c, t) => Insert(c, t, 2, fail: false), CancellationToken.None));

        var many = Enumerable.Range(3, 60).Select(n => database.WriteAsync((c, t) => Insert(c, t, n, fail: n % 3 == 0), CancellationToken.None)).ToList();
        foreach (var (write, n) in many.Select((w, i) => (w, i + 3)))
        {
            if (n % 3 == 0)
            {
                await Assert.ThrowsAsync<InvalidOperationException>(() => write);
            }
            else
            {
                Assert.True(await write);
            }
        }

        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT group_concat(n) FROM (SELECT n FROM scratch ORDER BY n);";
        Assert.Equal(string.Join(",", Enumerable.Range(2, 61).Where(n => n == 2 || n % 3 != 0)), await read.ExecuteScalarAsync());
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

/// <summary>The same conformance suite with every JSON column of a turn record kept deflated: it reads back the same.</summary>
public sealed class SqliteDeflatedStoreTests : SqliteStoreTests
{
    protected override int CompressJsonOverBytes => 1;

    [Fact]
    public async Task A_turn_records_json_is_kept_deflated_when_longer_than_the_setting()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 3), default);
        Assert.Equal([1L, 2L, 3L], (await Runs.GetEventsAsync(run.TenantId, run.Id, 0, 10, default)).Select(e => e.Seq));
        Assert.Single(await Runs.GetAllTurnsAsync(run.TenantId, run.Id, default));
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT typeof(events) || ',' || typeof(input) FROM run_turns WHERE events IS NOT NULL;";
        Assert.Equal("blob,blob", await command.ExecuteScalarAsync());
    }
}
