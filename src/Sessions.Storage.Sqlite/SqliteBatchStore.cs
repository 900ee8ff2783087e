using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Sqlite;

/// <summary>Batches (`batches`) and their items (`batch_items`), each a JSON document beside the columns queries use.</summary>
public sealed class SqliteBatchStore(SqliteDatabase database) : IBatchStore
{
    public Task CreateAsync(BatchDocument batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        var batchDoc = JsonSerializer.Serialize(batch, DocumentJson.Options);
        var itemDocs = items.Select(i => JsonSerializer.Serialize(i, DocumentJson.Options)).ToArray();
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                await using (var insert = Command(connection, transaction, "INSERT INTO batches (id, tenant_id, status, version, created_at, doc) VALUES ($id, $tenant, $status, $version, $created, $doc);"))
                {
                    insert.Parameters.AddWithValue("$id", batch.Id);
                    insert.Parameters.AddWithValue("$tenant", batch.TenantId);
                    insert.Parameters.AddWithValue("$status", Wire(batch.Status));
                    insert.Parameters.AddWithValue("$version", batch.Version);
                    insert.Parameters.AddWithValue("$created", batch.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
                    insert.Parameters.AddWithValue("$doc", batchDoc);
                    await insert.ExecuteNonQueryAsync();
                }

                await using var item = Command(connection, transaction, "INSERT INTO batch_items (batch_id, item_index, tenant_id, state, version, doc) VALUES ($batch, $index, $tenant, $state, $version, $doc);");
                item.Parameters.AddWithValue("$batch", batch.Id);
                item.Parameters.AddWithValue("$tenant", batch.TenantId);
                var index = item.Parameters.Add("$index", SqliteType.Integer);
                var state = item.Parameters.Add("$state", SqliteType.Text);
                var version = item.Parameters.Add("$version", SqliteType.Integer);
                var doc = item.Parameters.Add("$doc", SqliteType.Text);
                for (var i = 0; i < items.Count; i++)
                {
                    (index.Value, state.Value, version.Value, doc.Value) = (items[i].Index, Wire(items[i].State), items[i].Version, itemDocs[i]);
                    await item.ExecuteNonQueryAsync();
                }

                return true;
            },
            cancellationToken);
    }

    public async Task<BatchDocument?> GetAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM batches WHERE id = $id AND tenant_id = $tenant;";
        command.Parameters.AddWithValue("$id", batchId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc ? JsonSerializer.Deserialize<BatchDocument>(doc, DocumentJson.Options) : null;
    }

    public Task<bool> TryReplaceAsync(BatchDocument batch, long expectedVersion, CancellationToken cancellationToken)
    {
        var doc = JsonSerializer.Serialize(batch, DocumentJson.Options);
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(connection, transaction, "UPDATE batches SET status = $status, version = $version, doc = $doc WHERE id = $id AND tenant_id = $tenant AND version = $expected;");
                command.Parameters.AddWithValue("$status", Wire(batch.Status));
                command.Parameters.AddWithValue("$version", batch.Version);
                command.Parameters.AddWithValue("$doc", doc);
                command.Parameters.AddWithValue("$id", batch.Id);
                command.Parameters.AddWithValue("$tenant", batch.TenantId);
                command.Parameters.AddWithValue("$expected", expectedVersion);
                return await command.ExecuteNonQueryAsync() == 1;
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<BatchItem>> ListItemsAsync(string tenantId, string batchId, int afterIndex, int limit, bool openOnly, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT doc FROM batch_items WHERE batch_id = $batch AND tenant_id = $tenant AND item_index > $after
            {(openOnly ? "AND state IN ('pending', 'running')" : "")} ORDER BY item_index LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$batch", batchId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$after", afterIndex);
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<BatchItem>(command, cancellationToken);
    }

    public Task<bool> TryReplaceItemAsync(BatchItem item, long expectedVersion, CancellationToken cancellationToken)
    {
        var doc = JsonSerializer.Serialize(item, DocumentJson.Options);
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = Command(
                    connection,
                    transaction,
                    "UPDATE batch_items SET state = $state, version = $version, doc = $doc WHERE batch_id = $batch AND item_index = $index AND tenant_id = $tenant AND version = $expected;");
                command.Parameters.AddWithValue("$state", Wire(item.State));
                command.Parameters.AddWithValue("$version", item.Version);
                command.Parameters.AddWithValue("$doc", doc);
                command.Parameters.AddWithValue("$batch", item.BatchId);
                command.Parameters.AddWithValue("$index", item.Index);
                command.Parameters.AddWithValue("$tenant", item.TenantId);
                command.Parameters.AddWithValue("$expected", expectedVersion);
                return await command.ExecuteNonQueryAsync() == 1;
            },
            cancellationToken);
    }

    public async Task<IReadOnlyDictionary<BatchItemState, int>> CountItemsAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, COUNT(*) FROM batch_items WHERE batch_id = $batch AND tenant_id = $tenant GROUP BY state;";
        command.Parameters.AddWithValue("$batch", batchId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        var counts = Enum.GetValues<BatchItemState>().ToDictionary(s => s, _ => 0);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[Runtime.Runs.WireNames<BatchItemState>.Parse(reader.GetString(0))] = reader.GetInt32(1);
        }

        return counts;
    }

    public async Task<IReadOnlyList<BatchDocument>> ListAsync(string tenantId, string workflowId, BatchKind kind, int limit, CancellationToken cancellationToken)
    {
        // A batch written before kinds existed has none in its document: it starts runs.
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT doc FROM batches WHERE tenant_id = $tenant AND json_extract(doc, '$.workflow_id') = $workflow
            AND COALESCE(json_extract(doc, '$.kind'), 'runs') = $kind ORDER BY created_at DESC, id DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$workflow", workflowId);
        command.Parameters.AddWithValue("$kind", Wire(kind));
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<BatchDocument>(command, cancellationToken);
    }

    public async Task<IReadOnlyList<BatchDocument>> ListRunningAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM batches WHERE status = 'running' ORDER BY created_at LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<BatchDocument>(command, cancellationToken);
    }

    private static string Wire<T>(T value)
        where T : struct, Enum => Runtime.Runs.WireNames<T>.Of(value);

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
