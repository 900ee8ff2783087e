using Microsoft.Data.Sqlite;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Sqlite;

public sealed class SqliteIdempotencyStore(SqliteDatabase database) : IIdempotencyStore
{
    /// <summary>The claim and the read of a held key are one write of the single writer, so they see the same row.</summary>
    public Task<IdempotencyClaimResult> ClaimAsync(IdempotencyClaim claim, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var insert = Command(connection, transaction, """
                    INSERT INTO idempotency_keys (tenant_id, key, request_hash, owner, lease_expires_at, retain_until, answer, created_at)
                    VALUES ($tenant, $key, $hash, $owner, $lease, $retain, NULL, $created)
                    ON CONFLICT (tenant_id, key) DO UPDATE SET
                        request_hash = excluded.request_hash, owner = excluded.owner, lease_expires_at = excluded.lease_expires_at,
                        retain_until = excluded.retain_until, answer = NULL, created_at = excluded.created_at
                    WHERE idempotency_keys.retain_until <= $now
                       OR (idempotency_keys.answer IS NULL AND idempotency_keys.lease_expires_at <= $now);
                    """);
                insert.Parameters.AddWithValue("$tenant", claim.TenantId);
                insert.Parameters.AddWithValue("$key", claim.Key);
                insert.Parameters.AddWithValue("$hash", claim.RequestHash);
                insert.Parameters.AddWithValue("$owner", claim.Lease.Owner);
                insert.Parameters.AddWithValue("$lease", SqliteDatabase.Millis(claim.Lease.ExpiresAt));
                insert.Parameters.AddWithValue("$retain", SqliteDatabase.Millis(claim.RetainUntil));
                insert.Parameters.AddWithValue("$created", now.ToUniversalTime().ToString("O"));
                insert.Parameters.AddWithValue("$now", SqliteDatabase.Millis(now));
                if (await insert.ExecuteNonQueryAsync() == 1)
                {
                    return new IdempotencyClaimResult(IdempotencyState.Claimed, claim.RequestHash, null, claim.Lease.ExpiresAt);
                }

                await using var read = Command(connection, transaction, "SELECT request_hash, answer, lease_expires_at FROM idempotency_keys WHERE tenant_id = $tenant AND key = $key;");
                read.Parameters.AddWithValue("$tenant", claim.TenantId);
                read.Parameters.AddWithValue("$key", claim.Key);
                await using var reader = await read.ExecuteReaderAsync();
                await reader.ReadAsync();
                return reader.IsDBNull(1)
                    ? new IdempotencyClaimResult(IdempotencyState.InFlight, reader.GetString(0), null, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)))
                    : new IdempotencyClaimResult(IdempotencyState.Answered, reader.GetString(0), reader.GetString(1), null);
            },
            cancellationToken);

    public Task<bool> RenewAsync(string tenantId, string key, TurnLease lease, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(connection, transaction, """
                    UPDATE idempotency_keys SET lease_expires_at = $until
                    WHERE tenant_id = $tenant AND key = $key AND owner = $owner AND answer IS NULL;
                    """);
                command.Parameters.AddWithValue("$until", SqliteDatabase.Millis(lease.ExpiresAt));
                command.Parameters.AddWithValue("$tenant", tenantId);
                command.Parameters.AddWithValue("$key", key);
                command.Parameters.AddWithValue("$owner", lease.Owner);
                return await command.ExecuteNonQueryAsync() == 1;
            },
            cancellationToken);

    public Task ReleaseAsync(string tenantId, string key, string owner, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(connection, transaction, "DELETE FROM idempotency_keys WHERE tenant_id = $tenant AND key = $key AND owner = $owner AND answer IS NULL;");
                command.Parameters.AddWithValue("$tenant", tenantId);
                command.Parameters.AddWithValue("$key", key);
                command.Parameters.AddWithValue("$owner", owner);
                return await command.ExecuteNonQueryAsync();
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

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
