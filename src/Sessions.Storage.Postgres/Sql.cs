using Npgsql;
using NpgsqlTypes;

namespace Sessions.Storage.Postgres;

/// <summary>Positional parameters ($1, $2, ...) with the types PostgreSQL must see, in one line per command.</summary>
internal static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection connection, string text, params object?[] values) =>
        Command(connection, null, text, values);

    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string text, params object?[] values)
    {
        var command = new NpgsqlCommand(text, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    public static NpgsqlBatchCommand BatchCommand(string text, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(text);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    /// <summary>
    /// First in a batch (one implicit transaction): its commit does not wait for the WAL to reach the disk, for a
    /// <see cref="Sessions.Runtime.Storage.WriteDurability.Provisional"/> write. The setting ends with the transaction.
    /// </summary>
    public static NpgsqlBatchCommand Provisional() => new("SELECT set_config('synchronous_commit', 'off', true);");

    /// <summary>Text to store in a `json` column: passed as json so that PostgreSQL checks it without reformatting it.</summary>
    public static Json AsJson(string text) => new(text);

    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        // Untyped nulls are text: PostgreSQL must know a parameter's type even in `$1 IS NULL`.
        null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
        Json json => new NpgsqlParameter { Value = json.Text, NpgsqlDbType = NpgsqlDbType.Json },
        Jsonb json => new NpgsqlParameter { Value = json.Text, NpgsqlDbType = NpgsqlDbType.Jsonb },
        DateTimeOffset time => new NpgsqlParameter<DateTimeOffset> { TypedValue = time.ToUniversalTime() },
        _ => new NpgsqlParameter { Value = value },
    };

    public sealed record Json(string Text);

    public sealed record Jsonb(string Text);

    /// <summary>Npgsql's code for a unique violation: a turn or event that another writer already stored.</summary>
    public const string UniqueViolation = "23505";

    /// <summary>
    /// <paramref name="statement"/> (an insert or update without its semicolon), made to raise <see cref="NotWritten"/>
    /// with <paramref name="what"/> as its message unless it wrote exactly one row: in a batch, that rolls back the
    /// whole implicit transaction, so a commit needs no round trip of its own to decide.
    /// </summary>
    public static string RequireOneRow(string statement, string what) =>
        $"WITH written AS ({statement} RETURNING 1) SELECT sessions_require_one_row(count(*), '{what}') FROM written;";

    /// <summary>The code <c>sessions_require_one_row</c> raises (a class of our own, outside PostgreSQL's).</summary>
    public const string NotWritten = "SN001";
}
