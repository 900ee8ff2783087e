using Sessions.Runtime.Runs;
using System.Text.Json.Nodes;
using Npgsql;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

/// <summary>Conversation links in one table keyed by (tenant, protocol, name).</summary>
public sealed class PostgresConversationStore(PostgresDatabase database) : IConversationStore
{
    private const string Columns = "tenant_id, protocol, external_id, run_id, created_by, created_at, updated_at, metadata";

    public async Task<ConversationLink?> GetAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            $"SELECT {Columns} FROM conversation_links WHERE tenant_id = $1 AND protocol = $2 AND external_id = $3;",
            tenantId,
            protocol,
            externalId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<ConversationLink> AddAsync(ConversationLink link, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);

        // One statement: the inserted row, or (when the name was taken) the row that took it.
        await using var command = Sql.Command(
            connection,
            $"""
            WITH inserted AS (
                INSERT INTO conversation_links ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (tenant_id, protocol, external_id) DO NOTHING
                RETURNING {Columns})
            SELECT {Columns} FROM inserted
            UNION ALL
            SELECT {Columns} FROM conversation_links WHERE tenant_id = $1 AND protocol = $2 AND external_id = $3 AND NOT EXISTS (SELECT 1 FROM inserted);
            """,
            link.TenantId,
            link.Protocol,
            link.ExternalId,
            link.RunId,
            link.CreatedBy,
            link.CreatedAt,
            link.UpdatedAt,
            Sql.AsJson(JsonText.Serialize(link.Metadata)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            return Read(reader);
        }

        // The name's holder was deleted between the insert and the read: try again.
        await reader.DisposeAsync();
        return await AddAsync(link, cancellationToken);
    }

    public async Task<bool> SetMetadataAsync(string tenantId, string protocol, string externalId, JsonObject metadata, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "UPDATE conversation_links SET metadata = $4, updated_at = $5 WHERE tenant_id = $1 AND protocol = $2 AND external_id = $3;",
            tenantId,
            protocol,
            externalId,
            Sql.AsJson(JsonText.Serialize(metadata)),
            at);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string tenantId, string protocol, string externalId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "DELETE FROM conversation_links WHERE tenant_id = $1 AND protocol = $2 AND external_id = $3;",
            tenantId,
            protocol,
            externalId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<ConversationLink>> ListAsync(string tenantId, string protocol, string? createdBy, int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            $"""
            SELECT {Columns} FROM conversation_links
            WHERE tenant_id = $1 AND protocol = $2 AND ($3::text IS NULL OR created_by = $3)
            ORDER BY created_at DESC, external_id DESC LIMIT $4 OFFSET $5;
            """,
            tenantId,
            protocol,
            createdBy,
            limit,
            offset);
        var links = new List<ConversationLink>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            links.Add(Read(reader));
        }

        return links;
    }

    public async Task<int> DeleteForRunsAsync(string tenantId, IReadOnlyList<string> runIds, CancellationToken cancellationToken)
    {
        if (runIds.Count == 0)
        {
            return 0;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "DELETE FROM conversation_links WHERE tenant_id = $1 AND run_id = ANY($2);", tenantId, runIds.ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static ConversationLink Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        JsonText.ParseStored(reader.GetString(7))!.AsObject(),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetFieldValue<DateTimeOffset>(6));
}
