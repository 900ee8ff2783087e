using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Files;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Sqlite;

/// <summary>Files in pieces (`file_chunks`), and the files committed turns made their runs' (`run_files`).</summary>
public sealed class SqliteFileStore(SqliteDatabase database) : IFileStore
{
    public Task InsertChunkAsync(string tenantId, string fileId, int index, ReadOnlyMemory<byte> data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Copied now: the caller's buffer is refilled with the next piece while this one waits for the writer.
        var bytes = data.ToArray();
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "INSERT INTO file_chunks (file_id, chunk, tenant_id, created_at, data) VALUES ($file, $chunk, $tenant, $at, $data);";
                command.Parameters.AddWithValue("$file", fileId);
                command.Parameters.AddWithValue("$chunk", index);
                command.Parameters.AddWithValue("$tenant", tenantId);
                command.Parameters.AddWithValue("$at", at.UtcTicks);
                command.Parameters.AddWithValue("$data", bytes);
                return await command.ExecuteNonQueryAsync();
            },
            cancellationToken);
    }

    public Task DeleteChunksAsync(string tenantId, string fileId, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM file_chunks WHERE file_id = $file AND tenant_id = $tenant;";
                command.Parameters.AddWithValue("$file", fileId);
                command.Parameters.AddWithValue("$tenant", tenantId);
                return await command.ExecuteNonQueryAsync();
            },
            cancellationToken);

    public async Task<StoredFile?> GetAsync(string tenantId, string runId, string fileId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM run_files WHERE file_id = $file AND tenant_id = $tenant AND run_id = $run;";
        command.Parameters.AddWithValue("$file", fileId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$run", runId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc ? JsonSerializer.Deserialize<StoredFile>(doc, DocumentJson.Options) : null;
    }

    public async Task<byte[]?> ReadChunkAsync(string tenantId, string fileId, int index, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT data FROM file_chunks WHERE file_id = $file AND chunk = $chunk AND tenant_id = $tenant;";
        command.Parameters.AddWithValue("$file", fileId);
        command.Parameters.AddWithValue("$chunk", index);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public Task<int> DeleteOrphanChunksAsync(string? tenantId, DateTimeOffset before, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    DELETE FROM file_chunks WHERE created_at < $before AND ($tenant IS NULL OR tenant_id = $tenant)
                    AND NOT EXISTS (SELECT 1 FROM run_files f WHERE f.file_id = file_chunks.file_id);
                    """;
                command.Parameters.AddWithValue("$before", before.UtcTicks);
                command.Parameters.AddWithValue("$tenant", (object?)tenantId ?? DBNull.Value);
                return await command.ExecuteNonQueryAsync();
            },
            cancellationToken);

    /// <summary>A turn's files, in its commit's transaction; one the run already has is left as it is.</summary>
    internal static async Task InsertFilesAsync(SqliteConnection connection, SqliteTransaction transaction, string tenantId, string runId, IReadOnlyList<StoredFile> files)
    {
        if (files.Count == 0)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO run_files (file_id, tenant_id, run_id, doc) VALUES ($file, $tenant, $run, $doc) ON CONFLICT (file_id) DO NOTHING;";
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$run", runId);
        var file = command.Parameters.Add("$file", SqliteType.Text);
        var doc = command.Parameters.Add("$doc", SqliteType.Text);
        foreach (var stored in files)
        {
            file.Value = stored.FileId;
            doc.Value = JsonSerializer.Serialize(stored, DocumentJson.Options);
            await command.ExecuteNonQueryAsync();
        }
    }
}
