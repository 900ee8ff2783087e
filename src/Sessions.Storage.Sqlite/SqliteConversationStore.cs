using Sessions.Runtime.Runs;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Sqlite;

/// <summary>Conversation links in one table keyed by (tenant, protocol, name); times as UTC ticks, metadata as JSON text.</summary>
public sealed class SqliteConversationStore(SqliteDatabase database) : IConversationStore
{
    private const string Columns = "tenant_id, protocol, external_id, run_id, created_by, created_at, updated_at, metadata";

    public async Task<ConversationLink?> GetAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadOneAsync(connection, null, tenantId, protocol, externalId, cancellationToken);
    }

    public Task<ConversationLink> AddAsync(ConversationLink link, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var insert = Command(connection, transaction, $"""
                    INSERT INTO conversation_links ({Columns}) VALUES ($tenant, $protocol, $external, $run, $by, $created, $updated, $metadata)
                    ON CONFLICT (tenant_id, protocol, external_id) DO NOTHING;
                    """);
                insert.Parameters.AddWithValue("$tenant", link.TenantId);
                insert.Parameters.AddWithValue("$protocol", link.Protocol);
                insert.Parameters.AddWithValue("$external", link.ExternalId);
                insert.Parameters.AddWithValue("$run", link.RunId);
                insert.Parameters.AddWithValue("$by", (object?)link.CreatedBy ?? DBNull.Value);
                insert.Parameters.AddWithValue("$created", link.CreatedAt.UtcTicks);
                insert.Parameters.AddWithValue("$updated", link.UpdatedAt.UtcTicks);
                insert.Parameters.AddWithValue("$metadata", JsonText.Serialize(link.Metadata));
                await insert.ExecuteNonQueryAsync(cancellationToken);
                return (await ReadOneAsync(connection, transaction, link.TenantId, link.Protocol, link.ExternalId, cancellationToken))!;
            },
            cancellationToken);

    public Task<bool> SetMetadataAsync(string tenantId, string protocol, string externalId, JsonObject metadata, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var update = Command(connection, transaction, """
                    UPDATE conversation_links SET metadata = $metadata, updated_at = $updated
                    WHERE tenant_id = $tenant AND protocol = $protocol AND external_id = $external;
                    """);
                Key(update, tenantId, protocol, externalId);
                update.Parameters.AddWithValue("$metadata", JsonText.Serialize(metadata));
                update.Parameters.AddWithValue("$updated", at.UtcTicks);
                return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
            },
            cancellationToken);

    public Task<bool> DeleteAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var delete = Command(connection, transaction, "DELETE FROM conversation_links WHERE tenant_id = $tenant AND protocol = $protocol AND external_id = $external;");
                Key(delete, tenantId, protocol, externalId);
                return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
            },
            cancellationToken);

    public async Task<IReadOnlyList<ConversationLink>> ListAsync(string tenantId, string protocol, string? createdBy, int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns} FROM conversation_links
            WHERE tenant_id = $tenant AND protocol = $protocol AND ($by IS NULL OR created_by = $by)
            ORDER BY created_at DESC, external_id DESC LIMIT $limit OFFSET $offset;
            """;
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$protocol", protocol);
        command.Parameters.AddWithValue("$by", (object?)createdBy ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        var links = new List<ConversationLink>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            links.Add(Read(reader));
        }

        return links;
    }

    public Task<int> DeleteForRunsAsync(string tenantId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
        runIds.Count == 0
            ? Task.FromResult(0)
            : database.WriteAsync(
                async (connection, transaction) =>
                {
                    var deleted = 0;
                    foreach (var runId in runIds)
                    {
                        await using var delete = Command(connection, transaction, "DELETE FROM conversation_links WHERE tenant_id = $tenant AND run_id = $run;");
                        delete.Parameters.AddWithValue("$tenant", tenantId);
                        delete.Parameters.AddWithValue("$run", runId);
                        deleted += await delete.ExecuteNonQueryAsync(cancellationToken);
                    }

                    return deleted;
                },
                cancellationToken);

    private static async Task<ConversationLink?> ReadOneAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string tenantId, string protocol, string externalId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM conversation_links WHERE tenant_id = $tenant AND protocol = $protocol AND external_id = $external;";
        Key(command, tenantId, protocol, externalId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static ConversationLink Read(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        JsonText.ParseStored(reader.GetString(7))!.AsObject(),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
        new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero));

    private static void Key(SqliteCommand command, string tenantId, string protocol, string externalId)
    {
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$protocol", protocol);
        command.Parameters.AddWithValue("$external", externalId);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
