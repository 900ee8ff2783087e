using System.Text.Json;
using Npgsql;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

/// <summary>Batches (`batches`) and their items (`batch_items`), each a JSON document beside the columns queries use.</summary>
public sealed class PostgresBatchStore(PostgresDatabase database) : IBatchStore
{
    public async Task CreateAsync(BatchDocument batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batchCommand = new NpgsqlBatch(connection, transaction);
        batchCommand.BatchCommands.Add(Sql.BatchCommand(
            "INSERT INTO batches (id, tenant_id, status, version, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6);",
            batch.Id, batch.TenantId, WireNames<BatchStatus>.Of(batch.Status), batch.Version, batch.CreatedAt, Sql.AsJson(JsonSerializer.Serialize(batch, DocumentJson.Options))));
        var insert = new NpgsqlBatchCommand(
            "INSERT INTO batch_items (batch_id, item_index, tenant_id, state, version, doc) SELECT $1, i.n, $2, i.state, 1, i.doc::json FROM unnest($3, $4, $5) AS i(n, state, doc);");
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = batch.Id });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = batch.TenantId });
        insert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = items.Select(i => i.Index).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = items.Select(i => WireNames<BatchItemState>.Of(i.State)).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = items.Select(i => JsonSerializer.Serialize(i, DocumentJson.Options)).ToArray() });
        batchCommand.BatchCommands.Add(insert);
        await batchCommand.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<BatchDocument?> GetAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT doc::text FROM batches WHERE id = $1 AND tenant_id = $2;", batchId, tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc ? JsonSerializer.Deserialize<BatchDocument>(doc, DocumentJson.Options) : null;
    }

    public async Task<bool> TryReplaceAsync(BatchDocument batch, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "UPDATE batches SET status = $1, version = $2, doc = $3 WHERE id = $4 AND tenant_id = $5 AND version = $6;",
            WireNames<BatchStatus>.Of(batch.Status), batch.Version, Sql.AsJson(JsonSerializer.Serialize(batch, DocumentJson.Options)), batch.Id, batch.TenantId, expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<BatchItem>> ListItemsAsync(string tenantId, string batchId, int afterIndex, int limit, bool openOnly, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            $"""
            SELECT doc::text FROM batch_items WHERE batch_id = $1 AND tenant_id = $2 AND item_index > $3
            {(openOnly ? "AND state IN ('pending', 'running')" : "")} ORDER BY item_index LIMIT $4;
            """,
            batchId, tenantId, afterIndex, limit);
        return await SqlDocuments.ReadAllAsync<BatchItem>(command, cancellationToken);
    }

    public async Task<bool> TryReplaceItemAsync(BatchItem item, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "UPDATE batch_items SET state = $1, version = $2, doc = $3 WHERE batch_id = $4 AND item_index = $5 AND tenant_id = $6 AND version = $7;",
            WireNames<BatchItemState>.Of(item.State), item.Version, Sql.AsJson(JsonSerializer.Serialize(item, DocumentJson.Options)), item.BatchId, item.Index, item.TenantId, expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<BatchItemState, int>> CountItemsAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT state, COUNT(*) FROM batch_items WHERE batch_id = $1 AND tenant_id = $2 GROUP BY state;", batchId, tenantId);
        var counts = Enum.GetValues<BatchItemState>().ToDictionary(s => s, _ => 0);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[WireNames<BatchItemState>.Parse(reader.GetString(0))] = (int)reader.GetInt64(1);
        }

        return counts;
    }

    public async Task<IReadOnlyList<BatchDocument>> ListAsync(string tenantId, string workflowId, BatchKind kind, int limit, CancellationToken cancellationToken)
    {
        // A batch written before kinds existed has none in its document: it starts runs.
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "SELECT doc::text FROM batches WHERE tenant_id = $1 AND doc->>'workflow_id' = $2 AND COALESCE(doc->>'kind', 'runs') = $3 ORDER BY created_at DESC, id DESC LIMIT $4;",
            tenantId,
            workflowId,
            Runtime.Runs.WireNames<BatchKind>.Of(kind),
            limit);
        return await SqlDocuments.ReadAllAsync<BatchDocument>(command, cancellationToken);
    }

    public async Task<IReadOnlyList<BatchDocument>> ListRunningAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT doc::text FROM batches WHERE status = 'running' ORDER BY created_at LIMIT $1;", limit);
        return await SqlDocuments.ReadAllAsync<BatchDocument>(command, cancellationToken);
    }
}
