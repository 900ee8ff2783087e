using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Sqlite;

/// <summary>
/// Moves the events of a database written before one record per turn (a `run_events` row per event) into their turns'
/// `events`, a few runs per transaction, then drops the table. Each batch moves its runs' events and deletes their rows
/// together, so an upgrade interrupted anywhere goes on from where it stopped when the server next starts; the server
/// answers no request until it is done.
/// </summary>
internal static class SqliteEventsUpgrade
{
    public static async Task RunAsync(SqliteConnection connection, int runsPerBatch, int compressOver, ILogger logger, CancellationToken cancellationToken)
    {
        var moved = 0L;
        while (true)
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            if (!await ExistsAsync(connection, transaction, cancellationToken))
            {
                return;
            }

            var runs = await NextRunsAsync(connection, transaction, runsPerBatch, cancellationToken);
            if (runs.Count == 0)
            {
                await ExecuteAsync(connection, transaction, "DROP TABLE run_events;", cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                if (moved > 0)
                {
                    logger.LogInformation("Moved {Events} events into their turns; the upgrade to one record per turn is done.", moved);
                }

                return;
            }

            moved += await MoveAsync(connection, transaction, runs, compressOver, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Moved the events of {Runs} more runs into their turns ({Events} events so far).", runs.Count, moved);
        }
    }

    private static async Task<bool> ExistsAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_events';";
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task<List<string>> NextRunsAsync(SqliteConnection connection, SqliteTransaction transaction, int runsPerBatch, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT DISTINCT run_id FROM run_events ORDER BY run_id LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", runsPerBatch);
        var runs = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(reader.GetString(0));
        }

        return runs;
    }

    private static async Task<long> MoveAsync(SqliteConnection connection, SqliteTransaction transaction, List<string> runs, int compressOver, CancellationToken cancellationToken)
    {
        var names = string.Join(", ", runs.Select((_, i) => $"$r{i}"));
        var rows = new List<EarlierEvent<(string, string)>>();
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = $"SELECT run_id, seq, turn_number, type, payload FROM run_events WHERE run_id IN ({names}) ORDER BY run_id, seq;";
            AddRuns(read, runs);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), (reader.GetString(3), reader.GetString(4))));
            }
        }

        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE run_turns SET events = $events WHERE run_id = $run AND turn_number = $turn AND last_seq = $last AND events IS NULL;";
        // Typed by each value: text, or a BLOB when packed.
        var events = update.Parameters.AddWithValue("$events", DBNull.Value);
        var run = update.Parameters.Add("$run", SqliteType.Text);
        var turn = update.Parameters.Add("$turn", SqliteType.Integer);
        var last = update.Parameters.Add("$last", SqliteType.Integer);
        foreach (var group in EarlierEvents.ByTurn(rows))
        {
            (events.Value, run.Value, turn.Value, last.Value) = (PackedJson.Pack(EarlierEvents.ToArray(group.Events), compressOver), group.RunId, group.TurnNumber, group.LastSeq);
            if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException(
                    $"Run {group.RunId} has events up to {group.LastSeq} for turn {group.TurnNumber}, but no such turn record ending there; its events cannot be moved into it. The database is left as it was from this batch on.");
            }
        }

        await using var delete = connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = $"DELETE FROM run_events WHERE run_id IN ({names});";
        AddRuns(delete, runs);
        await delete.ExecuteNonQueryAsync(cancellationToken);
        return rows.Count;
    }

    private static void AddRuns(SqliteCommand command, List<string> runs)
    {
        for (var i = 0; i < runs.Count; i++)
        {
            command.Parameters.AddWithValue($"$r{i}", runs[i]);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
