using Microsoft.Data.Sqlite;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Storage.Sqlite;

public sealed class SqliteIdempotencyStore(SqliteDatabase database) : IIdempotencyStore
{
    public async Task<IdempotencyRecord?> GetAsync(string tenantId, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT request_hash, version, owner, lease_expires_at, answer, retain_until, created_at, run_id FROM idempotency_keys
            WHERE tenant_id = $tenant AND key = $key;
            """;
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new IdempotencyRecord(
            tenantId,
            key,
            reader.GetString(0),
            reader.GetInt64(1),
            reader.IsDBNull(3) ? null : new TurnLease(reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            DateTimeOffset.Parse(reader.GetString(6), System.Globalization.CultureInfo.InvariantCulture))
        {
            RunId = reader.IsDBNull(7) ? null : reader.GetString(7),
        };
    }

    public Task<bool> TryWriteAsync(IdempotencyRecord record, long expectedVersion, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => WriteAsync(connection, transaction, record, expectedVersion), cancellationToken);

    public Task<bool> TryDeleteAsync(string tenantId, string key, long expectedVersion, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(connection, transaction, "DELETE FROM idempotency_keys WHERE tenant_id = $tenant AND key = $key AND version = $expected;");
                command.Parameters.AddWithValue("$tenant", tenantId);
                command.Parameters.AddWithValue("$key", key);
                command.Parameters.AddWithValue("$expected", expectedVersion);
                return await command.ExecuteNonQueryAsync() == 1;
            },
            cancellationToken);

    public Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(connection, transaction, "DELETE FROM idempotency_keys WHERE retain_until <= $now;");
                command.Parameters.AddWithValue("$now", SqliteDatabase.Millis(now));
                return await command.ExecuteNonQueryAsync();
            },
            cancellationToken);

    /// <summary>The key's version-checked write, also used by a turn's commit to store its answer.</summary>
    internal static async Task<bool> WriteAsync(SqliteConnection connection, SqliteTransaction transaction, IdempotencyRecord record, long expectedVersion)
    {
        var command = WriterStatements.Get(connection, transaction, expectedVersion == 0
            ? """
              INSERT INTO idempotency_keys (tenant_id, key, request_hash, version, owner, lease_expires_at, retain_until, answer, created_at, run_id)
              VALUES ($tenant, $key, $hash, $version, $owner, $lease, $retain, $answer, $created, $run)
              ON CONFLICT (tenant_id, key) DO NOTHING;
              """
            : """
              UPDATE idempotency_keys SET request_hash = $hash, version = $version, owner = $owner, lease_expires_at = $lease,
                  retain_until = $retain, answer = $answer, created_at = $created, run_id = $run
              WHERE tenant_id = $tenant AND key = $key AND version = $expected;
              """);
        command.Parameters.AddWithValue("$tenant", record.TenantId);
        command.Parameters.AddWithValue("$key", record.Key);
        command.Parameters.AddWithValue("$hash", record.RequestHash);
        command.Parameters.AddWithValue("$version", record.Version);
        command.Parameters.AddWithValue("$expected", expectedVersion);
        command.Parameters.AddWithValue("$owner", record.Lease?.Owner ?? "");
        command.Parameters.AddWithValue("$lease", record.Lease is { } lease ? SqliteDatabase.Millis(lease.ExpiresAt) : DBNull.Value);
        command.Parameters.AddWithValue("$retain", SqliteDatabase.Millis(record.RetainUntil));
        command.Parameters.AddWithValue("$answer", (object?)record.Answer ?? DBNull.Value);
        command.Parameters.AddWithValue("$created", record.CreatedAt.ToUniversalTime().ToString("O"));
        command.Parameters.AddWithValue("$run", (object?)record.RunId ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
