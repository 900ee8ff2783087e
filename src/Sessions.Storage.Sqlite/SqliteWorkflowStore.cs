using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Sqlite;

public sealed class SqliteWorkflowStore(SqliteDatabase database) : IWorkflowStore
{
    public Task<bool> CreateAsync(WorkflowDocument workflow, WorkflowVersionDocument firstVersion, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => CreateAsync(connection, transaction, workflow, firstVersion), cancellationToken);

    private static async Task<bool> CreateAsync(SqliteConnection connection, SqliteTransaction transaction, WorkflowDocument workflow, WorkflowVersionDocument firstVersion)
    {
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO workflows (id, tenant_id, created_at, doc) VALUES ($id, $tenant, $created, $doc) ON CONFLICT (id) DO NOTHING;";
        insert.Parameters.AddWithValue("$id", workflow.Id);
        insert.Parameters.AddWithValue("$tenant", workflow.TenantId);
        insert.Parameters.AddWithValue("$created", workflow.CreatedAt.ToString("O"));
        insert.Parameters.AddWithValue("$doc", JsonSerializer.Serialize(workflow, DocumentJson.Options));
        if (await insert.ExecuteNonQueryAsync() == 0)
        {
            return false;
        }

        await InsertVersionAsync(connection, transaction, firstVersion);
        return true;
    }

    public async Task<WorkflowDocument?> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await GetAsync(connection, null, tenantId, workflowId, cancellationToken);
    }

    public async Task<Page<WorkflowDocument>> ListAsync(string tenantId, WorkflowQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var where = "tenant_id = $tenant"
            + (query.IncludeDeleted ? "" : " AND json_extract(doc, '$.deleted_at') IS NULL")
            + (string.IsNullOrEmpty(query.NameContains) ? "" : $" AND {NameContains("json_extract(doc, '$.name')", "$name")}");
        var name = query.NameContains ?? "";
        await using var count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM workflows WHERE {where};";
        count.Parameters.AddWithValue("$tenant", tenantId);
        count.Parameters.AddWithValue("$name", name);
        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken));

        await using var list = connection.CreateCommand();
        list.CommandText = $"SELECT doc FROM workflows WHERE {where} ORDER BY created_at DESC, id DESC LIMIT $limit OFFSET $offset;";
        list.Parameters.AddWithValue("$tenant", tenantId);
        list.Parameters.AddWithValue("$name", name);
        list.Parameters.AddWithValue("$limit", query.Limit);
        list.Parameters.AddWithValue("$offset", (long)(query.Page - 1) * query.Limit);
        var items = new List<WorkflowDocument>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(JsonSerializer.Deserialize<WorkflowDocument>(reader.GetString(0), DocumentJson.Options)!);
        }

        return new Page<WorkflowDocument>(items, total);
    }

    /// <summary>A plain substring test ignoring (ASCII) case: `%` and `_` in the search text are just characters.</summary>
    internal static string NameContains(string column, string parameter) => $"instr(lower({column}), lower({parameter})) > 0";

    public Task<WorkflowDocument?> DeleteAsync(string tenantId, string workflowId, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync<WorkflowDocument?>(
            async (connection, transaction) =>
            {
                var workflow = await GetAsync(connection, transaction, tenantId, workflowId, CancellationToken.None);
                if (workflow is null || workflow.DeletedAt is not null)
                {
                    return workflow;
                }

                var deleted = workflow with { DeletedAt = at, UpdatedAt = at };
                await ReplaceAsync(connection, transaction, deleted);
                return deleted;
            },
            cancellationToken);

    /// <summary>The read and the write are one write of the single writer, so two uploads cannot both claim a number.</summary>
    public Task<WorkflowDocument?> AddVersionAsync(string tenantId, string workflowId, NewWorkflowVersion version, bool activate, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => AddVersionAsync(connection, transaction, tenantId, workflowId, version, activate), cancellationToken);

    private static async Task<WorkflowDocument?> AddVersionAsync(SqliteConnection connection, SqliteTransaction transaction, string tenantId, string workflowId, NewWorkflowVersion version, bool activate)
    {
        var workflow = await GetAsync(connection, transaction, tenantId, workflowId, CancellationToken.None);
        if (workflow is null)
        {
            return null;
        }

        var number = workflow.LatestVersion + 1;
        await InsertVersionAsync(connection, transaction, new WorkflowVersionDocument(workflowId, tenantId, number, version.Name, version.DefinitionJson, version.CreatedAt));
        var updated = workflow.WithVersion(number, version, activate);
        await ReplaceAsync(connection, transaction, updated);
        return updated;
    }

    /// <summary>Writes the workflow's document, within the one writer's transaction.</summary>
    private static async Task ReplaceAsync(SqliteConnection connection, SqliteTransaction transaction, WorkflowDocument workflow)
    {
        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE workflows SET doc = $doc WHERE id = $id AND tenant_id = $tenant;";
        update.Parameters.AddWithValue("$doc", JsonSerializer.Serialize(workflow, DocumentJson.Options));
        update.Parameters.AddWithValue("$id", workflow.Id);
        update.Parameters.AddWithValue("$tenant", workflow.TenantId);
        await update.ExecuteNonQueryAsync();
    }

    public Task<WorkflowDocument?> ActivateAsync(string tenantId, string workflowId, WorkflowVersionDocument version, DateTimeOffset at, CancellationToken cancellationToken, ForcedActivation? forced = null) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                var workflow = await GetAsync(connection, transaction, tenantId, workflowId, CancellationToken.None);
                if (workflow is null)
                {
                    return null;
                }

                var updated = workflow.Activated(version, at, forced);
                await ReplaceAsync(connection, transaction, updated);
                return updated;
            },
            cancellationToken);

    public async Task<WorkflowVersionDocument?> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT version_number, name, definition, created_at FROM workflow_versions
            WHERE workflow_id = $id AND tenant_id = $tenant AND version_number = $n;
            """;
        command.Parameters.AddWithValue("$id", workflowId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$n", versionNumber);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader, workflowId, tenantId) : null;
    }

    public async Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT version_number, name, '', created_at FROM workflow_versions
            WHERE workflow_id = $id AND tenant_id = $tenant ORDER BY version_number;
            """;
        command.Parameters.AddWithValue("$id", workflowId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        var versions = new List<WorkflowVersionDocument>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(ReadVersion(reader, workflowId, tenantId));
        }

        return versions;
    }

    private static WorkflowVersionDocument ReadVersion(SqliteDataReader reader, string workflowId, string tenantId) =>
        new(workflowId, tenantId, reader.GetInt32(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<WorkflowDocument?> GetAsync(SqliteConnection connection, SqliteTransaction? transaction, string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT doc FROM workflows WHERE id = $id AND tenant_id = $tenant;";
        command.Parameters.AddWithValue("$id", workflowId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc
            ? JsonSerializer.Deserialize<WorkflowDocument>(doc, DocumentJson.Options)
            : null;
    }

    private static async Task InsertVersionAsync(SqliteConnection connection, SqliteTransaction transaction, WorkflowVersionDocument version)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO workflow_versions (workflow_id, version_number, tenant_id, name, definition, created_at)
            VALUES ($id, $n, $tenant, $name, $definition, $created);
            """;
        command.Parameters.AddWithValue("$id", version.WorkflowId);
        command.Parameters.AddWithValue("$n", version.VersionNumber);
        command.Parameters.AddWithValue("$tenant", version.TenantId);
        command.Parameters.AddWithValue("$name", version.Name);
        command.Parameters.AddWithValue("$definition", version.DefinitionJson);
        command.Parameters.AddWithValue("$created", version.CreatedAt.ToString("O"));
        await command.ExecuteNonQueryAsync();
    }
}
