using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Webhooks;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Sqlite;

/// <summary>Webhook deliveries as JSON documents beside the columns the due scan and the run's log read.</summary>
public sealed class SqliteWebhookStore(SqliteDatabase database) : IWebhookStore
{
    public async Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM webhook_deliveries WHERE state = 'pending' AND due_at <= $now ORDER BY due_at LIMIT $limit;";
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<WebhookDelivery>(command, cancellationToken);
    }

    public async Task<long> CountDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending' AND due_at <= $now;";
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task<bool> TryReplaceAsync(WebhookDelivery delivery, long expectedVersion, CancellationToken cancellationToken)
    {
        var doc = JsonSerializer.Serialize(delivery, DocumentJson.Options);
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    UPDATE webhook_deliveries SET state = $state, due_at = $due, version = $version, doc = $doc
                    WHERE id = $id AND tenant_id = $tenant AND version = $expected;
                    """;
                Bind(command, delivery, doc);
                command.Parameters.AddWithValue("$expected", expectedVersion);
                return await command.ExecuteNonQueryAsync() == 1;
            },
            cancellationToken);
    }

    public async Task<WebhookDelivery?> GetAsync(string tenantId, string deliveryId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM webhook_deliveries WHERE id = $id AND tenant_id = $tenant;";
        command.Parameters.AddWithValue("$id", deliveryId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return (await SqlDocuments.ReadAllAsync<WebhookDelivery>(command, cancellationToken)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListForRunAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM webhook_deliveries WHERE run_id = $run AND tenant_id = $tenant ORDER BY id;";
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return await SqlDocuments.ReadAllAsync<WebhookDelivery>(command, cancellationToken);
    }

    /// <summary>Inside a turn's commit: the turn's deliveries, in its transaction.</summary>
    internal static async Task InsertAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<WebhookDelivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO webhook_deliveries (id, tenant_id, run_id, state, due_at, version, doc)
                VALUES ($id, $tenant, $run, $state, $due, $version, $doc);
                """;
            Bind(command, delivery, JsonSerializer.Serialize(delivery, DocumentJson.Options));
            command.Parameters.AddWithValue("$run", delivery.RunId);
            await command.ExecuteNonQueryAsync();
        }
    }

    private static void Bind(SqliteCommand command, WebhookDelivery delivery, string doc)
    {
        command.Parameters.AddWithValue("$id", delivery.Id);
        command.Parameters.AddWithValue("$tenant", delivery.TenantId);
        command.Parameters.AddWithValue("$state", WireNames<DeliveryState>.Of(delivery.State));
        command.Parameters.AddWithValue("$due", delivery.DueAt.UtcTicks);
        command.Parameters.AddWithValue("$version", delivery.Version);
        command.Parameters.AddWithValue("$doc", doc);
    }
}
