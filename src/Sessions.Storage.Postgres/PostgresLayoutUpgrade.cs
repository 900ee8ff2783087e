using Microsoft.Extensions.Logging;
using Npgsql;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Postgres;

/// <summary>
/// Brings a database written before one record per turn to this layout, before the server answers. First it moves the events of a database written before one record per turn (a `run_events` row per event) into their turns'
/// `events`, a few runs per transaction, then drops the table. Each batch moves its runs' events and deletes their rows
/// together, under the migration lock, so instances starting together take turns and an upgrade interrupted anywhere
/// goes on from where it stopped when a server next starts; a server answers no request until it is done. Servers of
/// the earlier release must be stopped first: they would go on writing events the old way.
/// </summary>
internal static class PostgresLayoutUpgrade
{
    public static async Task RunAsync(PostgresDatabase database, long migrationLock, ILogger logger, CancellationToken cancellationToken)
    {
        await MoveEventsAsync(database, migrationLock, logger, cancellationToken);
        await FillActiveHoursAsync(database, cancellationToken);
    }

    /// <summary>
    /// Then it gives each run written before the reaper keyed on the hour of a run's last change that hour, a thousand
    /// runs per statement, found through an index of the runs still without one (made by the migration, dropped once
    /// empty: a later start finds no index and has nothing to do).
    /// </summary>
    private static async Task FillActiveHoursAsync(PostgresDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var pending = Sql.Command(connection, "SELECT to_regclass('ix_runs_without_active_hour') IS NOT NULL;"))
        {
            if (await pending.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return;
            }
        }

        while (true)
        {
            await using var fill = Sql.Command(
                connection,
                """
                UPDATE runs SET active_hour = floor(extract(epoch FROM updated_at) / 3600)::bigint
                WHERE id IN (SELECT id FROM runs WHERE active_hour IS NULL LIMIT 1000);
                """);
            if (await fill.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                break;
            }
        }

        await using var drop = Sql.Command(connection, "DROP INDEX IF EXISTS ix_runs_without_active_hour;");
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task MoveEventsAsync(PostgresDatabase database, long migrationLock, ILogger logger, CancellationToken cancellationToken)
    {
        var moved = 0L;
        while (true)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var lockIt = Sql.Command(connection, transaction, $"SELECT pg_advisory_xact_lock({migrationLock});"))
            {
                await lockIt.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var exists = Sql.Command(connection, transaction, "SELECT to_regclass('run_events') IS NOT NULL;"))
            {
                if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
                {
                    return;
                }
            }

            var runs = new List<string>();
            await using (var next = Sql.Command(connection, transaction, "SELECT DISTINCT run_id FROM run_events ORDER BY run_id LIMIT $1;", EarlierEvents.RunsPerBatch))
            await using (var reader = await next.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    runs.Add(reader.GetString(0));
                }
            }

            if (runs.Count == 0)
            {
                await using var drop = Sql.Command(connection, transaction, "DROP TABLE run_events;");
                await drop.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                if (moved > 0)
                {
                    logger.LogInformation("Moved {Events} events into their turns; the upgrade to one record per turn is done.", moved);
                }

                return;
            }

            moved += await MoveAsync(connection, transaction, runs.ToArray(), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Moved the events of {Runs} more runs into their turns ({Events} events so far).", runs.Count, moved);
        }
    }

    private static async Task<long> MoveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] runs, CancellationToken cancellationToken)
    {
        var rows = new List<EarlierEvent<(string, string)>>();
        await using (var read = Sql.Command(connection, transaction, "SELECT run_id, seq, turn_number, type, payload::text FROM run_events WHERE run_id = ANY($1) ORDER BY run_id, seq;", (object)runs))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), (reader.GetString(3), reader.GetString(4))));
            }
        }

        // One round trip for the batch's turns; each update must find its turn.
        var groups = EarlierEvents.ByTurn(rows).ToList();
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var group in groups)
        {
            batch.BatchCommands.Add(Sql.BatchCommand(
                "UPDATE run_turns SET events = $1, last_seq = $4 WHERE run_id = $2 AND turn_number = $3 AND (doc->>'last_seq')::bigint = $4 AND events IS NULL;",
                Sql.AsJson(EarlierEvents.ToArray(group.Events)),
                group.RunId,
                group.TurnNumber,
                group.LastSeq));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        for (var i = 0; i < groups.Count; i++)
        {
            if (batch.BatchCommands[i].RecordsAffected != 1)
            {
                throw new InvalidOperationException(
                    $"Run {groups[i].RunId} has events up to {groups[i].LastSeq} for turn {groups[i].TurnNumber}, but no such turn record ending there; its events cannot be moved into it. The database is left as it was from this batch on.");
            }
        }

        await using var delete = Sql.Command(connection, transaction, "DELETE FROM run_events WHERE run_id = ANY($1);", (object)runs);
        await delete.ExecuteNonQueryAsync(cancellationToken);
        return rows.Count;
    }
}
