using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Sessions.Storage.Sqlite;

/// <summary>
/// The statements every turn's commit runs, prepared once on the writer's connection and kept with it: SQLite parses
/// and plans a statement each time a new command runs it, which on the turn path cost more than running it. Only the
/// one writer (<see cref="SqliteWriter"/>) uses its connection, one write at a time, so a kept command is never shared.
/// A command from here belongs to its connection: callers set its parameters and run it, and never dispose it.
/// </summary>
internal static class WriterStatements
{
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Kept = new();

    /// <summary>The connection's command for <paramref name="sql"/>, in <paramref name="transaction"/>, with no parameters set.</summary>
    public static SqliteCommand Get(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var commands = Kept.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }
}
