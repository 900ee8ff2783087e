using System.Data.Common;

namespace Sessions.Runtime.Storage;

/// <summary>
/// The one migration runner of the SQL stores: numbered scripts, ordered and append-only (a released one is never
/// edited, only followed by another), applied in the caller's transaction after the last one its `schema_migrations`
/// table records, each recorded there as it is applied. The caller makes the transaction the only one migrating (an
/// advisory lock on PostgreSQL, the write lock on SQLite) and creates the table in its own column types.
/// </summary>
public static class SqlMigrations
{
    /// <returns>How many scripts were applied now.</returns>
    public static async Task<int> ApplyAsync(DbTransaction transaction, IReadOnlyList<string> migrations, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection ?? throw new InvalidOperationException("The transaction has no connection.");
        await using var read = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;");
        var applied = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken));
        for (var version = applied + 1; version <= migrations.Count; version++)
        {
            await using var migrate = Command(connection, transaction, migrations[version - 1]);
            await migrate.ExecuteNonQueryAsync(cancellationToken);

            await using var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @applied_at);");
            Add(record, "version", version);
            Add(record, "applied_at", now);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        return Math.Max(0, migrations.Count - applied);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
