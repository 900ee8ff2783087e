using System.Text.Json;
using Npgsql;
using Sessions.Runtime.Files;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

/// <summary>Files in pieces (`file_chunks`, bytea), and the files committed turns made their runs' (`run_files`).</summary>
public sealed class PostgresFileStore(PostgresDatabase database) : IFileStore
{
    public async Task InsertChunkAsync(string tenantId, string fileId, int index, ReadOnlyMemory<byte> data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("INSERT INTO file_chunks (file_id, chunk, tenant_id, created_at, data) VALUES ($1, $2, $3, $4, $5);", connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = fileId },
                new NpgsqlParameter<int> { TypedValue = index },
                new NpgsqlParameter<string> { TypedValue = tenantId },
                new NpgsqlParameter<long> { TypedValue = at.UtcTicks },
                new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = data, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
            },
        };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task DeleteChunksAsync(string tenantId, string fileId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "DELETE FROM file_chunks WHERE file_id = $1 AND tenant_id = $2;", fileId, tenantId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredFile?> GetAsync(string tenantId, string runId, string fileId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT doc::text FROM run_files WHERE file_id = $1 AND tenant_id = $2 AND run_id = $3;", fileId, tenantId, runId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc ? JsonSerializer.Deserialize<StoredFile>(doc, DocumentJson.Options) : null;
    }

    public async Task<byte[]?> ReadChunkAsync(string tenantId, string fileId, int index, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT data FROM file_chunks WHERE file_id = $1 AND chunk = $2 AND tenant_id = $3;", fileId, index, tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public async Task<int> DeleteOrphanChunksAsync(string? tenantId, DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "DELETE FROM file_chunks c WHERE c.created_at < $1 AND ($2 IS NULL OR c.tenant_id = $2) AND NOT EXISTS (SELECT 1 FROM run_files f WHERE f.file_id = c.file_id);",
            before.UtcTicks,
            tenantId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A turn's files, for its commit's batch; one the run already has is left as it is.</summary>
    internal static NpgsqlBatchCommand InsertFiles(string tenantId, string runId, IReadOnlyList<StoredFile> files)
    {
        var command = new NpgsqlBatchCommand(
            "INSERT INTO run_files (file_id, tenant_id, run_id, doc) SELECT f.id, $1, $2, f.doc::json FROM unnest($3, $4) AS f(id, doc) ON CONFLICT (file_id) DO NOTHING;");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = files.Select(f => f.FileId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = files.Select(f => JsonSerializer.Serialize(f, DocumentJson.Options)).ToArray() });
        return command;
    }
}
