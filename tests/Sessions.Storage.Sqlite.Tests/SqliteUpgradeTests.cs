using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Sessions.Testing;

namespace Sessions.Storage.Sqlite.Tests;

/// <summary>
/// The upgrade to one record per turn moves events a batch of runs at a time: one that stops partway (here, refused
/// by a turn record that is missing) leaves each batch wholly moved or untouched, and the next start finishes the
/// job with the same result as an upgrade that was never interrupted.
/// </summary>
public sealed class SqliteUpgradeTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(Repository.Root, "tests", "Sessions.Api.Tests", "Fixtures", "release-0", "sessions.db");

    private readonly TempDirectory folder = new();

    [Fact]
    public async Task An_upgrade_stopped_partway_goes_on_at_the_next_start_and_ends_as_one_never_stopped()
    {
        var straight = folder.File("straight.db");
        var stopped = folder.File("stopped.db");
        File.Copy(Fixture, straight);
        File.Copy(Fixture, stopped);
        await InitializeAsync(straight, runsPerBatch: 3);

        // The last run (in id order, so in the last batch) loses its first turn record with events.
        var (runId, turnNumber) = await ScalarsAsync(stopped, "SELECT run_id, turn_number FROM run_events ORDER BY run_id DESC, seq LIMIT 1;");
        var runsWithEvents = (long)(await ScalarAsync(stopped, "SELECT COUNT(DISTINCT run_id) FROM run_events;"))!;
        await ExecuteAsync(stopped, $"CREATE TABLE kept AS SELECT * FROM run_turns WHERE run_id = '{runId}' AND turn_number = {turnNumber}; DELETE FROM run_turns WHERE run_id = '{runId}' AND turn_number = {turnNumber};");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => InitializeAsync(stopped, runsPerBatch: 3));
        Assert.Contains(runId, refused.Message);
        var left = (long)(await ScalarAsync(stopped, "SELECT COUNT(DISTINCT run_id) FROM run_events;"))!;
        Assert.InRange(left, 1, 3);
        // The batches before the refused one moved whole; the refused one moved nothing.
        Assert.Equal(0L, await ScalarAsync(stopped, "SELECT COUNT(*) FROM run_turns WHERE events IS NOT NULL AND run_id >= (SELECT MIN(run_id) FROM run_events);"));
        Assert.Equal(runsWithEvents - left, await ScalarAsync(stopped, "SELECT COUNT(DISTINCT run_id) FROM run_turns WHERE events IS NOT NULL;"));

        // The record is put back; the next start moves what was left.
        await ExecuteAsync(stopped, "INSERT INTO run_turns (run_id, turn_number, input, output, first_seq, last_seq, started_at, completed_at, state, changes, calls) SELECT run_id, turn_number, input, output, first_seq, last_seq, started_at, completed_at, state, changes, calls FROM kept; DROP TABLE kept;");
        await InitializeAsync(stopped, runsPerBatch: 3);

        Assert.Equal(0L, await ScalarAsync(stopped, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_events';"));
        var query = "SELECT run_id || ':' || turn_number || ':' || COALESCE(hex(events), '-') FROM run_turns ORDER BY run_id, turn_number;";
        var expected = await RowsAsync(straight, query);
        Assert.True(expected.Count(row => !row.EndsWith(":-", StringComparison.Ordinal)) > 30);
        Assert.Equal(expected, await RowsAsync(stopped, query));
    }

    public void Dispose() => folder.Dispose();

    private static async Task InitializeAsync(string path, int runsPerBatch)
    {
        await using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { Path = path })) { UpgradeRunsPerBatch = runsPerBatch };
        await database.InitializeAsync(CancellationToken.None);
    }

    private static async Task<SqliteConnection> OpenAsync(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = await OpenAsync(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string path, string sql)
    {
        await using var connection = await OpenAsync(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static async Task<(string, long)> ScalarsAsync(string path, string sql)
    {
        await using var connection = await OpenAsync(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), reader.GetInt64(1));
    }

    private static async Task<List<string>> RowsAsync(string path, string sql)
    {
        await using var connection = await OpenAsync(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
