using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sessions.Runtime.Values;
using Sessions.Runtime.Recordings;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Sqlite;

public sealed class SqliteRunStore(SqliteDatabase database) : IRunStore
{
    public string DbSystem => "sqlite";

    private const int SqliteConstraintPrimaryKey = 1555;

    public async Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM runs WHERE id = $id AND tenant_id = $tenant;";
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc
            ? JsonSerializer.Deserialize<RunDocument>(doc, DocumentJson.Options)
            : null;
    }


    /// <summary>Every write here is durable: it joins the writer's next group commit, so a provisional one would save nothing.</summary>
    public Task<ReplaceResult> TryReplaceAsync(RunDocument run, long expectedVersion, WriteDurability durability, CancellationToken cancellationToken)
    {
        var doc = JsonSerializer.Serialize(run, DocumentJson.Options);
        return database.WriteAsync(
            async (connection, transaction) =>
            {
                if (await UpdateRunAsync(connection, transaction, run, doc, expectedVersion))
                {
                    return ReplaceResult.Done;
                }

                await using var read = connection.CreateCommand();
                read.Transaction = transaction;
                read.CommandText = "SELECT doc FROM runs WHERE id = $id AND tenant_id = $tenant;";
                read.Parameters.AddWithValue("$id", run.Id);
                read.Parameters.AddWithValue("$tenant", run.TenantId);
                return new ReplaceResult(false, await read.ExecuteScalarAsync() is string current ? JsonSerializer.Deserialize<RunDocument>(current, DocumentJson.Options) : null);
            },
            cancellationToken);
    }

    public Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken)
    {
        // Serialized by the caller, not by the one writer, so that concurrent turns do that work in parallel.
        var run = commit.Run;
        var doc = commit.RunJson;
        var over = database.CompressJsonOverBytes;
        var events = TurnEvents.Write(commit.Turn, commit.Events);
        var turnRecord = commit.Turn is not { } turn ? null : new TurnColumns(
            PackedJson.Pack(turn.Input.ToJsonString(DocumentJson.Options), over),
            PackedJson.Pack(turn.Output.ToJsonString(DocumentJson.Options), over),
            PackedJson.Pack(
                turn.StateAfter switch
                {
                    null => null,
                    var after when ReferenceEquals(after, run) => doc,
                    var after => JsonSerializer.Serialize(after, DocumentJson.Options),
                },
                over),
            PackedJson.Pack(turn.Changes?.ToJsonString(DocumentJson.Options), over),
            PackedJson.Pack(turn.Calls is null ? null : JsonSerializer.Serialize(turn.Calls, DocumentJson.Options), over),
            PackedJson.Pack(events, over));

        return database.WriteAsync(
            async (connection, transaction) =>
            {
                var written = commit.ExpectedVersion == 0
                    ? await InsertRunAsync(connection, transaction, run, doc) && await InsertLabelsAsync(connection, transaction, run)
                    : await UpdateRunAsync(connection, transaction, run, doc, commit.ExpectedVersion);
                if (!written)
                {
                    throw new StoreConflictException($"Run {run.Id} is no longer at version {commit.ExpectedVersion}.");
                }

                try
                {
                    if (commit.Turn is not null)
                    {
                        await InsertTurnAsync(connection, transaction, commit.Turn, turnRecord!);
                    }
                }
                catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
                {
                    throw new StoreConflictException($"Run {run.Id} already has turn {commit.Turn?.TurnNumber}.");
                }

                if (commit.Answer is { } answer && !await SqliteIdempotencyStore.WriteAsync(connection, transaction, answer.Record, answer.ExpectedVersion))
                {
                    throw new StoreConflictException($"Idempotency key '{answer.Record.Key}' is no longer held by this turn.");
                }

                await SqliteWebhookStore.InsertAsync(connection, transaction, commit.Deliveries);
                await SqliteFileStore.InsertFilesAsync(connection, transaction, run.TenantId, run.Id, commit.Files);
                return true;
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<RunDocument>> ListDueWorkAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM runs WHERE due_at <= $now ORDER BY due_at LIMIT $limit;";
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    public async Task<long> CountDueWorkAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM runs WHERE due_at <= $now;";
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<RunCount>> CountWaitingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT tenant_id, workflow_id, status, COUNT(*) FROM runs WHERE status IN ({SqlDocuments.WaitingStatuses}) AND deleted_at IS NULL GROUP BY tenant_id, workflow_id, status;";
        return await SqlDocuments.ReadCountsAsync(command, cancellationToken);
    }

    /// <summary>Due times as UTC ticks (100 ns): exact, so a timer is listed neither before its time nor after it.</summary>
    private static object DueAt(RunDocument run) => Ticks(run.DueAt);

    private static object Ticks(DateTimeOffset? time) => time is { } at ? at.UtcTicks : DBNull.Value;

    public async Task<IReadOnlyList<RunDocument>> ListPurgeableAsync(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT doc FROM (
                SELECT doc FROM runs WHERE expires_at <= $expired AND ($tenant IS NULL OR tenant_id = $tenant)
                UNION SELECT doc FROM runs WHERE deleted_at <= $deleted AND ($tenant IS NULL OR tenant_id = $tenant))
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$tenant", (object?)tenantId ?? DBNull.Value);
        command.Parameters.AddWithValue("$expired", expiredBy.UtcTicks);
        command.Parameters.AddWithValue("$deleted", deletedBy.UtcTicks);
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    public Task<bool> PurgeAsync(RunDocument run, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, transaction) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM runs WHERE id = $id AND tenant_id = $tenant AND version = $version;";
                command.Parameters.AddWithValue("$id", run.Id);
                command.Parameters.AddWithValue("$tenant", run.TenantId);
                command.Parameters.AddWithValue("$version", run.Version);
                if (await command.ExecuteNonQueryAsync() == 0)
                {
                    return false;
                }

                command.CommandText = """
                    DELETE FROM run_turns WHERE run_id = $id;
                    DELETE FROM run_labels WHERE tenant_id = $tenant AND run_id = $id;
                    DELETE FROM idempotency_keys WHERE tenant_id = $tenant AND run_id = $id;
                    DELETE FROM webhook_deliveries WHERE run_id = $id;
                    DELETE FROM file_chunks WHERE file_id IN (SELECT file_id FROM run_files WHERE run_id = $id AND tenant_id = $tenant);
                    DELETE FROM run_files WHERE run_id = $id AND tenant_id = $tenant;
                    """;
                await command.ExecuteNonQueryAsync();
                return true;
            },
            cancellationToken);

    public async Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var names = statuses.Select((status, i) => (Name: $"$status{i}", Value: status.ToWire())).ToList();
        command.CommandText = $"""
            SELECT doc FROM runs WHERE status IN ({string.Join(", ", names.Select(n => n.Name))}) AND updated_at < $before AND deleted_at IS NULL
            ORDER BY updated_at LIMIT $limit;
            """;
        names.ForEach(n => command.Parameters.AddWithValue(n.Name, n.Value));
        command.Parameters.AddWithValue("$before", updatedBefore.ToUniversalTime().ToString("O"));
        command.Parameters.AddWithValue("$limit", limit);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    /// <summary>
    /// Read from the turns that hold them: the first is found by the index on each run's last seqs, and each turn read
    /// after it holds at least one of the events asked for, so at most <paramref name="limit"/> turns are read.
    /// </summary>
    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.turn_number, t.last_seq, t.events FROM run_turns t
            JOIN runs r ON r.id = t.run_id
            WHERE r.id = $id AND r.tenant_id = $tenant AND t.run_id = $id AND t.last_seq > $after AND t.events IS NOT NULL
            ORDER BY t.last_seq LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", limit);
        var events = new List<RunEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (events.Count < limit && await reader.ReadAsync(cancellationToken))
        {
            TurnEvents.Read(runId, reader.GetInt32(0), reader.GetInt64(1), PackedJson.Read(reader, 2)!, afterSeq, limit, events);
        }

        return events;
    }

    public async Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.turn_number, t.input, t.output, t.first_seq, t.last_seq, t.started_at, t.completed_at, t.state, t.changes, t.calls FROM run_turns t
            JOIN runs r ON r.id = t.run_id
            WHERE r.id = $id AND r.tenant_id = $tenant AND t.turn_number > $after ORDER BY t.turn_number LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$tenant", tenantId);
        command.Parameters.AddWithValue("$after", afterTurn);
        command.Parameters.AddWithValue("$limit", limit);
        var turns = new List<TurnDocument>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            turns.Add(new TurnDocument(
                runId,
                reader.GetInt32(0),
                JsonText.ParseStored(PackedJson.Read(reader, 1)!)!.AsObject(),
                JsonText.ParseStored(PackedJson.Read(reader, 2)!)!.AsObject(),
                reader.GetInt64(3),
                reader.GetInt64(4),
                DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture),
                DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture),
                PackedJson.Read(reader, 7) is { } state ? JsonSerializer.Deserialize<RunDocument>(state, DocumentJson.Options) : null,
                PackedJson.Read(reader, 8) is { } changes ? JsonText.ParseStored(changes)!.AsObject() : null)
            {
                Calls = PackedJson.Read(reader, 9) is { } calls ? JsonSerializer.Deserialize<List<RecordedCall>>(calls, DocumentJson.Options) : null,
            });
        }

        return turns;
    }

    public async Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var count = connection.CreateCommand();
        await using var list = connection.CreateCommand();
        var filter = Filter(tenantId, query, (name, value) =>
        {
            count.Parameters.AddWithValue(name, value);
            list.Parameters.AddWithValue(name, value);
        });

        count.CommandText = $"SELECT COUNT(*) {From} WHERE {filter};";
        list.CommandText = $"SELECT r.doc, json_extract(w.doc, '$.name') {From} WHERE {filter} ORDER BY r.created_at DESC, r.id DESC LIMIT $limit OFFSET $offset;";
        list.Parameters.AddWithValue("$limit", query.Limit);
        list.Parameters.AddWithValue("$offset", (long)(query.Page - 1) * query.Limit);

        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken));
        var items = new List<RunSummary>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new RunSummary(JsonSerializer.Deserialize<RunDocument>(reader.GetString(0), DocumentJson.Options)!, reader.GetString(1)));
        }

        return new Page<RunSummary>(items, total);
    }

    public async Task<IReadOnlyDictionary<RunStatus, long>> CountByStatusAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var filter = Filter(tenantId, query, (name, value) => command.Parameters.AddWithValue(name, value));
        command.CommandText = $"SELECT r.status, COUNT(*) {From} WHERE {filter} GROUP BY r.status;";
        var counts = Enum.GetValues<RunStatus>().ToDictionary(s => s, _ => 0L);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[RunStatusNames.FromWire(reader.GetString(0))] = reader.GetInt64(1);
        }

        return counts;
    }

    private const string From = "FROM runs r JOIN workflows w ON w.id = r.workflow_id AND w.tenant_id = r.tenant_id";

    /// <summary>The WHERE clause of a run query (paging aside), binding its values through <paramref name="bind"/>.</summary>
    private static string Filter(string tenantId, RunQuery query, Action<string, object> bind)
    {
        var where = new List<string> { "r.tenant_id = $tenant" };
        bind("$tenant", tenantId);
        if (!query.IncludeDeleted)
        {
            where.Add("r.deleted_at IS NULL");
        }

        if (query.WorkflowId is not null)
        {
            where.Add("r.workflow_id = $workflow");
            bind("$workflow", query.WorkflowId);
        }

        if (query.Statuses.Count > 0)
        {
            var names = query.Statuses.Select((s, i) => (Name: $"$status{i}", Value: s.ToWire())).ToList();
            where.Add($"r.status IN ({string.Join(", ", names.Select(n => n.Name))})");
            names.ForEach(n => bind(n.Name, n.Value));
        }

        if (query.RunBy is not null)
        {
            where.Add("r.run_by = $run_by");
            bind("$run_by", query.RunBy);
        }

        if (query.CreatedFrom is { } from)
        {
            where.Add("r.created_at >= $from");
            bind("$from", from.ToUniversalTime().ToString("O"));
        }

        if (query.CreatedTo is { } to)
        {
            where.Add("r.created_at < $to");
            bind("$to", to.ToUniversalTime().ToString("O"));
        }

        for (var i = 0; i < query.Labels.Count; i++)
        {
            where.Add($"EXISTS (SELECT 1 FROM run_labels l WHERE l.tenant_id = r.tenant_id AND l.label = $label{i} AND l.run_id = r.id)");
            bind($"$label{i}", query.Labels[i]);
        }

        if (!string.IsNullOrEmpty(query.WorkflowNameContains))
        {
            where.Add(SqliteWorkflowStore.NameContains("json_extract(w.doc, '$.name')", "$name"));
            bind("$name", query.WorkflowNameContains);
        }

        return string.Join(" AND ", where);
    }

    private static async Task<bool> InsertRunAsync(SqliteConnection connection, SqliteTransaction transaction, RunDocument run, string doc)
    {
        var command = WriterStatements.Get(connection, transaction, """
            INSERT INTO runs (id, tenant_id, workflow_id, status, version, run_by, created_at, updated_at, due_at, deleted_at, expires_at, doc)
            VALUES ($id, $tenant, $workflow, $status, $version, $run_by, $created, $updated, $due, $deleted, $expires, $doc)
            ON CONFLICT (id) DO NOTHING;
            """);
        command.Parameters.AddWithValue("$due", DueAt(run));
        command.Parameters.AddWithValue("$deleted", Ticks(run.DeletedAt));
        command.Parameters.AddWithValue("$expires", Ticks(run.ExpiresAt));
        command.Parameters.AddWithValue("$id", run.Id);
        command.Parameters.AddWithValue("$tenant", run.TenantId);
        command.Parameters.AddWithValue("$workflow", run.WorkflowId);
        command.Parameters.AddWithValue("$status", run.Status.ToWire());
        command.Parameters.AddWithValue("$version", run.Version);
        command.Parameters.AddWithValue("$run_by", (object?)run.RunBy ?? DBNull.Value);
        command.Parameters.AddWithValue("$created", run.CreatedAt.ToString("O"));
        command.Parameters.AddWithValue("$updated", run.UpdatedAt.ToString("O"));
        command.Parameters.AddWithValue("$doc", doc);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <summary>A new run's labels (<see cref="RunLabels"/>), for search; a run gets them once, with its first turn.</summary>
    private static async Task<bool> InsertLabelsAsync(SqliteConnection connection, SqliteTransaction transaction, RunDocument run)
    {
        var labels = RunLabels.Of(run);
        if (labels.Count == 0)
        {
            return true;
        }

        var command = WriterStatements.Get(connection, transaction, "INSERT OR IGNORE INTO run_labels (tenant_id, label, run_id) VALUES ($tenant, $label, $run);");
        command.Parameters.AddWithValue("$tenant", run.TenantId);
        command.Parameters.AddWithValue("$run", run.Id);
        var label = command.Parameters.Add("$label", SqliteType.Text);
        foreach (var text in labels)
        {
            label.Value = text;
            await command.ExecuteNonQueryAsync();
        }

        return true;
    }

    private static async Task<bool> UpdateRunAsync(SqliteConnection connection, SqliteTransaction transaction, RunDocument run, string doc, long expectedVersion)
    {
        var command = WriterStatements.Get(connection, transaction, """
            UPDATE runs SET status = $status, version = $version, updated_at = $updated, due_at = $due, deleted_at = $deleted, expires_at = $expires, doc = $doc
            WHERE id = $id AND tenant_id = $tenant AND version = $expected;
            """);
        command.Parameters.AddWithValue("$due", DueAt(run));
        command.Parameters.AddWithValue("$deleted", Ticks(run.DeletedAt));
        command.Parameters.AddWithValue("$expires", Ticks(run.ExpiresAt));
        command.Parameters.AddWithValue("$id", run.Id);
        command.Parameters.AddWithValue("$tenant", run.TenantId);
        command.Parameters.AddWithValue("$status", run.Status.ToWire());
        command.Parameters.AddWithValue("$version", run.Version);
        command.Parameters.AddWithValue("$expected", expectedVersion);
        command.Parameters.AddWithValue("$updated", run.UpdatedAt.ToString("O"));
        command.Parameters.AddWithValue("$doc", doc);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    private static async Task InsertTurnAsync(SqliteConnection connection, SqliteTransaction transaction, TurnDocument turn, TurnColumns columns)
    {
        var command = WriterStatements.Get(connection, transaction, """
            INSERT INTO run_turns (run_id, turn_number, input, output, first_seq, last_seq, started_at, completed_at, state, changes, calls, events)
            VALUES ($run, $turn, $input, $output, $first, $last, $started, $completed, $state, $changes, $calls, $events);
            """);
        command.Parameters.AddWithValue("$run", turn.RunId);
        command.Parameters.AddWithValue("$turn", turn.TurnNumber);
        command.Parameters.AddWithValue("$input", columns.Input);
        command.Parameters.AddWithValue("$output", columns.Output);
        command.Parameters.AddWithValue("$first", turn.FirstSeq);
        command.Parameters.AddWithValue("$last", turn.LastSeq);
        command.Parameters.AddWithValue("$started", turn.StartedAt.ToString("O"));
        command.Parameters.AddWithValue("$completed", turn.CompletedAt.ToString("O"));
        command.Parameters.AddWithValue("$state", columns.State);
        command.Parameters.AddWithValue("$changes", columns.Changes);
        command.Parameters.AddWithValue("$calls", columns.Calls);
        command.Parameters.AddWithValue("$events", columns.Events);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A turn record's JSON columns as kept (<see cref="PackedJson"/>), made before the record is queued for the writer.</summary>
    private sealed record TurnColumns(object Input, object Output, object State, object Changes, object Calls, object Events);
}
