using System.Text.Json;
using Npgsql;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

public sealed class PostgresWorkflowStore(PostgresDatabase database) : IWorkflowStore
{
    public async Task<bool> CreateAsync(WorkflowDocument workflow, WorkflowVersionDocument firstVersion, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = Sql.Command(
            connection,
            transaction,
            "INSERT INTO workflows (id, tenant_id, created_at, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING;",
            workflow.Id,
            workflow.TenantId,
            workflow.CreatedAt,
            new Sql.Jsonb(JsonSerializer.Serialize(workflow, DocumentJson.Options)));
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }

        await InsertVersionAsync(connection, transaction, firstVersion, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<WorkflowDocument?> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await GetAsync(connection, null, tenantId, workflowId, lockRow: false, cancellationToken);
    }

    public async Task<Page<WorkflowDocument>> ListAsync(string tenantId, WorkflowQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);

        var values = new List<object?> { tenantId };
        var where = "tenant_id = $1" + (query.IncludeDeleted ? "" : " AND doc->>'deleted_at' IS NULL");
        if (!string.IsNullOrEmpty(query.NameContains))
        {
            // strpos on lower(): a plain substring test, so % and _ in the search text are just characters.
            values.Add(query.NameContains);
            where += $" AND strpos(lower(doc->>'name'), lower(${values.Count})) > 0";
        }

        await using var count = Sql.Command(connection, $"SELECT COUNT(*) FROM workflows WHERE {where};", [.. values]);
        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken));

        await using var list = Sql.Command(
            connection,
            $"SELECT doc::text FROM workflows WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ${values.Count + 1} OFFSET ${values.Count + 2};",
            [.. values, query.Limit, (long)(query.Page - 1) * query.Limit]);
        var items = new List<WorkflowDocument>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(JsonSerializer.Deserialize<WorkflowDocument>(reader.GetString(0), DocumentJson.Options)!);
        }

        return new Page<WorkflowDocument>(items, total);
    }

    public async Task<WorkflowDocument?> DeleteAsync(string tenantId, string workflowId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var workflow = await GetAsync(connection, transaction, tenantId, workflowId, lockRow: true, cancellationToken);
        if (workflow is null || workflow.DeletedAt is not null)
        {
            return workflow;
        }

        var deleted = workflow with { DeletedAt = at, UpdatedAt = at };
        await ReplaceAsync(connection, transaction, deleted, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<WorkflowDocument?> AddVersionAsync(string tenantId, string workflowId, NewWorkflowVersion version, bool activate, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // FOR UPDATE: a second upload waits here until the first commits, then numbers after it.
        var workflow = await GetAsync(connection, transaction, tenantId, workflowId, lockRow: true, cancellationToken);
        if (workflow is null)
        {
            return null;
        }

        var number = workflow.LatestVersion + 1;
        await InsertVersionAsync(connection, transaction, new WorkflowVersionDocument(workflowId, tenantId, number, version.Name, version.DefinitionJson, version.CreatedAt), cancellationToken);
        var updated = workflow.WithVersion(number, version, activate);
        await ReplaceAsync(connection, transaction, updated, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return updated;
    }

    public async Task<WorkflowDocument?> ActivateAsync(string tenantId, string workflowId, WorkflowVersionDocument version, DateTimeOffset at, CancellationToken cancellationToken, ForcedActivation? forced = null)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // FOR UPDATE: an upload racing this activation is applied wholly before or after it.
        var workflow = await GetAsync(connection, transaction, tenantId, workflowId, lockRow: true, cancellationToken);
        if (workflow is null)
        {
            return null;
        }

        var updated = workflow.Activated(version, at, forced);
        await ReplaceAsync(connection, transaction, updated, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return updated;
    }

    /// <summary>Writes the workflow's document, within the transaction that locked its row.</summary>
    private static async Task ReplaceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WorkflowDocument workflow, CancellationToken cancellationToken)
    {
        await using var update = Sql.Command(
            connection,
            transaction,
            "UPDATE workflows SET doc = $1 WHERE id = $2 AND tenant_id = $3;",
            new Sql.Jsonb(JsonSerializer.Serialize(workflow, DocumentJson.Options)),
            workflow.Id,
            workflow.TenantId);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<WorkflowVersionDocument?> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "SELECT version_number, name, definition, created_at FROM workflow_versions WHERE workflow_id = $1 AND tenant_id = $2 AND version_number = $3;",
            workflowId,
            tenantId,
            versionNumber);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader, workflowId, tenantId) : null;
    }

    public async Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            "SELECT version_number, name, '', created_at FROM workflow_versions WHERE workflow_id = $1 AND tenant_id = $2 ORDER BY version_number;",
            workflowId,
            tenantId);
        var versions = new List<WorkflowVersionDocument>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(ReadVersion(reader, workflowId, tenantId));
        }

        return versions;
    }

    private static WorkflowVersionDocument ReadVersion(NpgsqlDataReader reader, string workflowId, string tenantId) =>
        new(workflowId, tenantId, reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3));

    private static async Task<WorkflowDocument?> GetAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string tenantId, string workflowId, bool lockRow, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(
            connection,
            transaction,
            "SELECT doc::text FROM workflows WHERE id = $1 AND tenant_id = $2" + (lockRow ? " FOR UPDATE;" : ";"),
            workflowId,
            tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc
            ? JsonSerializer.Deserialize<WorkflowDocument>(doc, DocumentJson.Options)
            : null;
    }

    private static async Task InsertVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WorkflowVersionDocument version, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(
            connection,
            transaction,
            "INSERT INTO workflow_versions (workflow_id, version_number, tenant_id, name, definition, created_at) VALUES ($1, $2, $3, $4, $5, $6);",
            version.WorkflowId,
            version.VersionNumber,
            version.TenantId,
            version.Name,
            version.DefinitionJson,
            version.CreatedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
