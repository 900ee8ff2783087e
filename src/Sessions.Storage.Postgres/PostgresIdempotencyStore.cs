using Npgsql;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Storage.Postgres;

public sealed class PostgresIdempotencyStore(PostgresDatabase database) : IIdempotencyStore
{
    public async Task<IdempotencyRecord?> GetAsync(string tenantId, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            """
            SELECT request_hash, version, owner, lease_expires_at, answer, retain_until, created_at, run_id FROM idempotency_keys
            WHERE tenant_id = $1 AND key = $2;
            """,
            tenantId,
            key);
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
            reader.IsDBNull(3) ? null : new TurnLease(reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetFieldValue<DateTimeOffset>(5),
            reader.GetFieldValue<DateTimeOffset>(6))
        {
            RunId = reader.IsDBNull(7) ? null : reader.GetString(7),
        };
    }

    /// <summary>A claim or its renewal, provisional like a run's lease: one implicit transaction that does not wait for the WAL flush.</summary>
    public async Task<bool> TryWriteAsync(IdempotencyRecord record, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Sql.Provisional());
        var (text, values) = Write(record, expectedVersion);
        batch.BatchCommands.Add(Sql.BatchCommand(text, values));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands[^1].RecordsAffected == 1;
    }

    public async Task<bool> TryDeleteAsync(string tenantId, string key, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND version = $3;", tenantId, key, expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "DELETE FROM idempotency_keys WHERE retain_until <= $1;", now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The key's version-checked write: one row or none.</summary>
    private static (string Text, object?[] Values) Write(IdempotencyRecord record, long expectedVersion) =>
        (expectedVersion == 0 ? Insert : Update, Values(record, expectedVersion));

    /// <summary>The same write in a turn's commit batch, which it rolls back if it finds the key moved on.</summary>
    internal static (string Text, object?[] Values) WriteOnce(IdempotencyRecord record, long expectedVersion) =>
        (expectedVersion == 0 ? InsertOnce : UpdateOnce, Values(record, expectedVersion));

    private static object?[] Values(IdempotencyRecord record, long expectedVersion) =>
        expectedVersion == 0
            ? [record.TenantId, record.Key, record.RequestHash, record.Version, record.Lease?.Owner ?? "", record.Lease?.ExpiresAt, record.RetainUntil, record.Answer, record.CreatedAt, record.RunId]
            : [record.TenantId, record.Key, record.RequestHash, record.Version, record.Lease?.Owner ?? "", record.Lease?.ExpiresAt, record.RetainUntil, record.Answer, record.CreatedAt, record.RunId, expectedVersion];

    private const string Insert = """
        INSERT INTO idempotency_keys (tenant_id, key, request_hash, version, owner, lease_expires_at, retain_until, answer, created_at, run_id)
        VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8::text, $9, $10::text)
        ON CONFLICT (tenant_id, key) DO NOTHING
        """;

    private const string Update = """
        UPDATE idempotency_keys SET request_hash = $3, version = $4, owner = $5, lease_expires_at = $6::timestamptz,
            retain_until = $7, answer = $8::text, created_at = $9, run_id = $10::text
        WHERE tenant_id = $1 AND key = $2 AND version = $11
        """;

    private static readonly string InsertOnce = Sql.RequireOneRow(Insert, "idempotency key");

    private static readonly string UpdateOnce = Sql.RequireOneRow(Update, "idempotency key");
}
