using Sessions.Runtime.Storage;

namespace Sessions.Storage.Postgres;

public sealed class PostgresIdempotencyStore(PostgresDatabase database) : IIdempotencyStore
{
    public async Task<IdempotencyClaimResult> ClaimAsync(IdempotencyClaim claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);

        // The upsert takes the row lock, so of two requests with one key exactly one claims it; the other reads the
        // holder's row. A holder that releases in between leaves no row to read: claim again.
        for (var attempt = 0; ; attempt++)
        {
            await using var claimCommand = Sql.Command(
                connection,
                """
                INSERT INTO idempotency_keys AS k (tenant_id, key, request_hash, owner, lease_expires_at, retain_until, answer, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
                ON CONFLICT (tenant_id, key) DO UPDATE SET
                    request_hash = excluded.request_hash, owner = excluded.owner, lease_expires_at = excluded.lease_expires_at,
                    retain_until = excluded.retain_until, answer = NULL, created_at = excluded.created_at
                WHERE k.retain_until <= $7 OR (k.answer IS NULL AND k.lease_expires_at <= $7);
                """,
                claim.TenantId,
                claim.Key,
                claim.RequestHash,
                claim.Lease.Owner,
                claim.Lease.ExpiresAt,
                claim.RetainUntil,
                now);
            if (await claimCommand.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return new IdempotencyClaimResult(IdempotencyState.Claimed, claim.RequestHash, null, claim.Lease.ExpiresAt);
            }

            await using var read = Sql.Command(
                connection,
                "SELECT request_hash, answer, lease_expires_at FROM idempotency_keys WHERE tenant_id = $1 AND key = $2;",
                claim.TenantId,
                claim.Key);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return reader.IsDBNull(1)
                    ? new IdempotencyClaimResult(IdempotencyState.InFlight, reader.GetString(0), null, reader.GetFieldValue<DateTimeOffset>(2))
                    : new IdempotencyClaimResult(IdempotencyState.Answered, reader.GetString(0), reader.GetString(1), null);
            }

            if (attempt == 3)
            {
                throw new InvalidOperationException($"Idempotency key '{claim.Key}' could not be claimed or read after {attempt + 1} attempts.");
            }
        }
    }

    public async Task<bool> RenewAsync(string tenantId, string key, TurnLease lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "UPDATE idempotency_keys SET lease_expires_at = $1 WHERE tenant_id = $2 AND key = $3 AND owner = $4 AND answer IS NULL;",
            lease.ExpiresAt,
            tenantId,
            key,
            lease.Owner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task ReleaseAsync(string tenantId, string key, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND owner = $3 AND answer IS NULL;",
            tenantId,
            key,
            owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "DELETE FROM idempotency_keys WHERE retain_until <= $1;", now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
