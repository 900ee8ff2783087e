using System.Text.Json;
using Npgsql;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Webhooks;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

/// <summary>Webhook deliveries as `json` documents beside the columns the due scan and the run's log read.</summary>
public sealed class PostgresWebhookStore(PostgresDatabase database) : IWebhookStore
{
    public Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ReadAllAsync("SELECT doc::text FROM webhook_deliveries WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT $2;", [now.UtcTicks, limit], cancellationToken);

    public async Task<long> CountDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending' AND due_at <= $1;", now.UtcTicks);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<bool> TryReplaceAsync(WebhookDelivery delivery, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            """
            UPDATE webhook_deliveries SET state = $3, due_at = $4, version = $5, doc = $6
            WHERE id = $1 AND tenant_id = $2 AND version = $7;
            """,
            delivery.Id,
            delivery.TenantId,
            WireNames<DeliveryState>.Of(delivery.State),
            delivery.DueAt.UtcTicks,
            delivery.Version,
            Document(delivery),
            expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<WebhookDelivery?> GetAsync(string tenantId, string deliveryId, CancellationToken cancellationToken) =>
        (await ReadAllAsync("SELECT doc::text FROM webhook_deliveries WHERE id = $1 AND tenant_id = $2;", [deliveryId, tenantId], cancellationToken)).SingleOrDefault();

    public Task<IReadOnlyList<WebhookDelivery>> ListForRunAsync(string tenantId, string runId, CancellationToken cancellationToken) =>
        ReadAllAsync("SELECT doc::text FROM webhook_deliveries WHERE run_id = $1 AND tenant_id = $2 ORDER BY id;", [runId, tenantId], cancellationToken);

    /// <summary>The insert of a turn's deliveries, sent in its commit batch.</summary>
    internal static NpgsqlBatchCommand Insert(WebhookDelivery delivery) => Sql.BatchCommand(
        """
        INSERT INTO webhook_deliveries (id, tenant_id, run_id, state, due_at, version, doc)
        VALUES ($1, $2, $3, $4, $5, $6, $7);
        """,
        delivery.Id,
        delivery.TenantId,
        delivery.RunId,
        WireNames<DeliveryState>.Of(delivery.State),
        delivery.DueAt.UtcTicks,
        delivery.Version,
        Document(delivery));

    private static Sql.Json Document(WebhookDelivery delivery) => Sql.AsJson(JsonSerializer.Serialize(delivery, DocumentJson.Options));

    private async Task<IReadOnlyList<WebhookDelivery>> ReadAllAsync(string sql, object?[] values, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, sql, values);
        return await SqlDocuments.ReadAllAsync<WebhookDelivery>(command, cancellationToken);
    }
}
