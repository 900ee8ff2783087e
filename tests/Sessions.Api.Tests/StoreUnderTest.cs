using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Driver;
using Npgsql;
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

    /// <summary>
    /// How many rows (documents) each table (collection) holds for the run, read straight from the database: what a
    /// test of erasure checks, table by table, without trusting the server's own reads.
    /// </summary>
    public abstract Task<IReadOnlyDictionary<string, long>> RowsOfRunAsync(SessionsFactory factory, string runId);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>How many pieces of files the store holds, of any run or of none (a file whose turn never committed).</summary>
    public abstract Task<long> FilePiecesAsync(SessionsFactory factory);

    /// <summary>The SQL stores' tables that hold a run's rows, and how to find them (`$run` the run's id).</summary>
    protected static readonly (string Table, string Where)[] SqlTables =
    [
        ("runs", "id = $run"), ("run_turns", "run_id = $run"), ("run_labels", "run_id = $run"),
        ("idempotency_keys", "run_id = $run"), ("webhook_deliveries", "run_id = $run"), ("run_files", "run_id = $run"),
        ("file_chunks", "file_id IN (SELECT file_id FROM run_files WHERE run_id = $run)"),
    ];
}

public sealed class SqliteStoreUnderTest : StoreUnderTest
{
    public override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());

    public override async Task<IReadOnlyDictionary<string, long>> RowsOfRunAsync(SessionsFactory factory, string runId)
    {
        await using var connection = new SqliteConnection($"Data Source={factory.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var rows = new Dictionary<string, long>();
        foreach (var (table, where) in SqlTables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {where};";
            command.Parameters.AddWithValue("$run", runId);
            rows[table] = (long)(await command.ExecuteScalarAsync())!;
        }

        return rows;
    }

    public override async Task<long> FilePiecesAsync(SessionsFactory factory)
    {
        await using var connection = new SqliteConnection($"Data Source={factory.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM file_chunks;";
        return (long)(await command.ExecuteScalarAsync())!;
    }
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

    public override async Task<IReadOnlyDictionary<string, long>> RowsOfRunAsync(SessionsFactory factory, string runId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        var rows = new Dictionary<string, long>();
        foreach (var (table, where) in SqlTables)
        {
            await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM {table} WHERE {where.Replace("$run", "$1")};", connection) { Parameters = { new() { Value = runId } } };
            rows[table] = (long)(await command.ExecuteScalarAsync())!;
        }

        return rows;
    }

    public override async Task<long> FilePiecesAsync(SessionsFactory factory)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM file_chunks;", connection);
        return (long)(await command.ExecuteScalarAsync())!;
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

    public override async Task<IReadOnlyDictionary<string, long>> RowsOfRunAsync(SessionsFactory factory, string runId)
    {
        var db = new MongoClient(Server.ConnectionString).GetDatabase(Server.Database);
        var rows = new Dictionary<string, long>
        {
            ["workflow_runs"] = await db.GetCollection<BsonDocument>("workflow_runs").CountDocumentsAsync(new BsonDocument("_id", ObjectId.Parse(runId))),
        };
        foreach (var collection in new[] { "run_turns", "idempotency_keys", "webhook_deliveries", "run_files" })
        {
            rows[collection] = await db.GetCollection<BsonDocument>(collection).CountDocumentsAsync(new BsonDocument("run_id", runId));
        }

        var files = await db.GetCollection<BsonDocument>("run_files").Find(new BsonDocument("run_id", runId)).ToListAsync();
        rows["file_chunks"] = await db.GetCollection<BsonDocument>("file_chunks")
            .CountDocumentsAsync(new BsonDocument("file_id", new BsonDocument("$in", new BsonArray(files.Select(f => f["_id"].AsObjectId.ToString())))));
        return rows;
    }

    public override async Task<long> FilePiecesAsync(SessionsFactory factory) =>
        await new MongoClient(Server.ConnectionString).GetDatabase(Server.Database).GetCollection<BsonDocument>("file_chunks").CountDocumentsAsync(new BsonDocument());

    public override ValueTask DisposeAsync() => database?.DisposeAsync() ?? ValueTask.CompletedTask;
}
