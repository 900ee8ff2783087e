using System.Text.Json;
using Npgsql;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Storage.Postgres;

public sealed class PostgresRunStore(PostgresDatabase database) : IRunStore
{
    public string DbSystem => "postgresql";


    public async Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT doc::text FROM runs WHERE id = $1 AND tenant_id = $2;", runId, tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) is string doc
            ? JsonSerializer.Deserialize<RunDocument>(doc, DocumentJson.Options)
            : null;
    }

    /// <summary>
    /// The write and, should it find the run moved on, the read of the run as it is now: one round trip, one implicit
    /// transaction. A provisional write commits without waiting for its WAL to reach the disk (`synchronous_commit` off
    /// for this transaction alone); the turn's commit, which waits, flushes it with its own.
    /// </summary>
    public async Task<ReplaceResult> TryReplaceAsync(RunDocument run, long expectedVersion, WriteDurability durability, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        if (durability == WriteDurability.Provisional)
        {
            batch.BatchCommands.Add(Sql.Provisional());
        }

        batch.BatchCommands.Add(Sql.BatchCommand(UpdateRun, run.Id, run.TenantId, run.Status.ToWire(), run.Version, run.UpdatedAt, Document(run), expectedVersion, DueAt(run), run.DeletedAt?.UtcTicks, run.ExpiresAt?.UtcTicks));
        batch.BatchCommands.Add(Sql.BatchCommand("SELECT doc::text FROM runs WHERE id = $1 AND tenant_id = $2;", run.Id, run.TenantId));
        string? current = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            // The first result is never the run (it is the update, or the setting before it); the run is the last.
            while (await reader.NextResultAsync(cancellationToken))
            {
                if (reader.FieldCount > 0 && await reader.ReadAsync(cancellationToken))
                {
                    current = reader.GetString(0);
                }
            }
        }

        return batch.BatchCommands[^2].RecordsAffected == 1
            ? ReplaceResult.Done
            : new ReplaceResult(false, current is null ? null : JsonSerializer.Deserialize<RunDocument>(current, DocumentJson.Options));
    }

    /// <summary>
    /// The hour of a run's last change (<paramref name="updatedAt"/>, a timestamptz), which the reaper's index keys on
    /// instead of the time itself: it moves once an hour at most, so an ordinary turn changes no indexed column and its
    /// update of the run can be a HOT update (the table leaves room on each page for one: fillfactor 70).
    /// </summary>
    private static string ActiveHour(string updatedAt) => $"floor(extract(epoch FROM {updatedAt}::timestamptz) / 3600)::bigint";

    private static readonly string UpdateRun = $"""
        UPDATE runs SET status = $3, version = $4, updated_at = $5, active_hour = {ActiveHour("$5")}, doc = $6, due_at = $8::bigint, deleted_at = $9::bigint, expires_at = $10::bigint
        WHERE id = $1 AND tenant_id = $2 AND version = $7
        """;

    /// <summary>
    /// One round trip: the run write, every event, the turn record and the answer go as one batch, which PostgreSQL runs
    /// as one implicit transaction that commits at its end. Under read committed, a racing writer blocks on the run's
    /// row, then finds the version moved and writes no row; a write that must touch one row and touched none raises
    /// (<see cref="Sql.RequireOneRow"/>), which rolls the whole batch back.
    /// </summary>
    public async Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken)
    {
        var run = commit.Run;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var doc = Sql.AsJson(commit.RunJson);
        batch.BatchCommands.Add(commit.ExpectedVersion == 0
            ? Sql.BatchCommand(InsertRunOnce, run.Id, run.TenantId, run.WorkflowId, run.Status.ToWire(), run.Version, run.RunBy, run.CreatedAt, run.UpdatedAt, doc, DueAt(run), run.DeletedAt?.UtcTicks, run.ExpiresAt?.UtcTicks)
            : Sql.BatchCommand(UpdateRunOnce, run.Id, run.TenantId, run.Status.ToWire(), run.Version, run.UpdatedAt, doc, commit.ExpectedVersion, DueAt(run), run.DeletedAt?.UtcTicks, run.ExpiresAt?.UtcTicks));

        if (commit.ExpectedVersion == 0 && RunLabels.Of(run) is { Count: > 0 } labels)
        {
            // A new run's labels, for search; a run gets them once, with its first turn.
            var labelled = new NpgsqlBatchCommand("INSERT INTO run_labels (tenant_id, label, run_id) SELECT $1, l, $2 FROM unnest($3) AS l ON CONFLICT DO NOTHING;");
            labelled.Parameters.Add(new NpgsqlParameter<string> { TypedValue = run.TenantId });
            labelled.Parameters.Add(new NpgsqlParameter<string> { TypedValue = run.Id });
            labelled.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = labels.ToArray() });
            batch.BatchCommands.Add(labelled);
        }

        var events = TurnEvents.Write(commit.Turn, commit.Events);
        if (commit.Turn is { } turn)
        {
            batch.BatchCommands.Add(Sql.BatchCommand(
                "INSERT INTO run_turns (run_id, turn_number, doc, last_seq, events) VALUES ($1, $2, $3, $4, $5::json);",
                turn.RunId,
                turn.TurnNumber,
                Sql.AsJson(JsonSerializer.Serialize(turn, DocumentJson.Options)),
                turn.LastSeq,
                events is null ? null : Sql.AsJson(events)));
        }

        foreach (var delivery in commit.Deliveries)
        {
            batch.BatchCommands.Add(PostgresWebhookStore.Insert(delivery));
        }

        if (commit.Files.Count > 0)
        {
            batch.BatchCommands.Add(PostgresFileStore.InsertFiles(run.TenantId, run.Id, commit.Files));
        }

        if (commit.Answer is { } answer)
        {
            var (text, values) = PostgresIdempotencyStore.WriteOnce(answer.Record, answer.ExpectedVersion);
            batch.BatchCommands.Add(Sql.BatchCommand(text, values));
        }

        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == Sql.UniqueViolation)
        {
            throw new StoreConflictException($"Run {run.Id} already has turn {commit.Turn?.TurnNumber}.");
        }
        catch (PostgresException ex) when (ex.SqlState == Sql.NotWritten)
        {
            throw new StoreConflictException(
                ex.MessageText == RunNotWritten
                    ? $"Run {run.Id} is no longer at version {commit.ExpectedVersion}."
                    : $"Idempotency key '{commit.Answer?.Record.Key}' is no longer held by this turn.");
        }
    }

    private const string RunNotWritten = "run";

    private static readonly string InsertRunOnce = Sql.RequireOneRow(
        $"""
        INSERT INTO runs (id, tenant_id, workflow_id, status, version, run_by, created_at, updated_at, active_hour, doc, due_at, deleted_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {ActiveHour("$8")}, $9, $10::bigint, $11::bigint, $12::bigint) ON CONFLICT (id) DO NOTHING
        """,
        RunNotWritten);

    private static readonly string UpdateRunOnce = Sql.RequireOneRow(UpdateRun, RunNotWritten);

    /// <summary>
    /// Read from the turns that hold them: the first is found by the index on each run's last seqs, and each turn read
    /// after it holds at least one of the events asked for, so at most <paramref name="limit"/> turns are read.
    /// </summary>
    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            """
            SELECT t.turn_number, t.last_seq, t.events::text FROM run_turns t
            JOIN runs r ON r.id = t.run_id
            WHERE r.id = $1 AND r.tenant_id = $2 AND t.run_id = $1 AND t.last_seq > $3 AND t.events IS NOT NULL
            ORDER BY t.last_seq LIMIT $4;
            """,
            runId,
            tenantId,
            afterSeq,
            limit);
        var events = new List<RunEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (events.Count < limit && await reader.ReadAsync(cancellationToken))
        {
            TurnEvents.Read(runId, reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2), afterSeq, limit, events);
        }

        return events;
    }

    public async Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            """
            SELECT t.doc::text FROM run_turns t JOIN runs r ON r.id = t.run_id
            WHERE r.id = $1 AND r.tenant_id = $2 AND t.turn_number > $3 ORDER BY t.turn_number LIMIT $4;
            """,
            runId,
            tenantId,
            afterTurn,
            limit);
        var turns = new List<TurnDocument>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            turns.Add(JsonSerializer.Deserialize<TurnDocument>(reader.GetString(0), DocumentJson.Options)!);
        }

        return turns;
    }

    public async Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var values = new List<object?>();
        var filter = Filter(tenantId, query, values);
        await using var count = Sql.Command(connection, $"SELECT COUNT(*) {From} WHERE {filter};", values.ToArray());
        var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken));

        values.Add(query.Limit);
        var limit = "$" + values.Count;
        values.Add((long)(query.Page - 1) * query.Limit);
        var offset = "$" + values.Count;
        await using var list = Sql.Command(
            connection,
            $"SELECT r.doc::text, w.doc->>'name' {From} WHERE {filter} ORDER BY r.created_at DESC, r.id DESC LIMIT {limit} OFFSET {offset};",
            values.ToArray());
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
        var values = new List<object?>();
        var filter = Filter(tenantId, query, values);
        await using var command = Sql.Command(connection, $"SELECT r.status, COUNT(*) {From} WHERE {filter} GROUP BY r.status;", values.ToArray());
        var counts = Enum.GetValues<RunStatus>().ToDictionary(s => s, _ => 0L);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[RunStatusNames.FromWire(reader.GetString(0))] = reader.GetInt64(1);
        }

        return counts;
    }

    private const string From = "FROM runs r JOIN workflows w ON w.id = r.workflow_id AND w.tenant_id = r.tenant_id";

    /// <summary>The WHERE clause of a run query (paging aside); its values are appended to <paramref name="values"/> as $1, $2...</summary>
    private static string Filter(string tenantId, RunQuery query, List<object?> values)
    {
        string Bind(object? value)
        {
            values.Add(value);
            return "$" + values.Count;
        }

        var where = new List<string> { $"r.tenant_id = {Bind(tenantId)}" };
        if (!query.IncludeDeleted)
        {
            where.Add("r.deleted_at IS NULL");
        }

        if (query.WorkflowId is not null)
        {
            where.Add($"r.workflow_id = {Bind(query.WorkflowId)}");
        }

        if (query.Statuses.Count > 0)
        {
            where.Add($"r.status = ANY({Bind(query.Statuses.Select(s => s.ToWire()).ToArray())})");
        }

        if (query.RunBy is not null)
        {
            where.Add($"r.run_by = {Bind(query.RunBy)}");
        }

        if (query.CreatedFrom is { } from)
        {
            where.Add($"r.created_at >= {Bind(from)}");
        }

        if (query.CreatedTo is { } to)
        {
            where.Add($"r.created_at < {Bind(to)}");
        }

        foreach (var label in query.Labels)
        {
            where.Add($"EXISTS (SELECT 1 FROM run_labels l WHERE l.tenant_id = r.tenant_id AND l.label = {Bind(label)} AND l.run_id = r.id)");
        }

        if (!string.IsNullOrEmpty(query.WorkflowNameContains))
        {
            // strpos on lower(): a plain substring test, so % and _ in the search text are just characters.
            where.Add($"strpos(lower(w.doc->>'name'), lower({Bind(query.WorkflowNameContains)})) > 0");
        }

        return string.Join(" AND ", where);
    }

    public async Task<long> CountDueWorkAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT COUNT(*) FROM runs WHERE due_at <= $1;", now.UtcTicks);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<RunCount>> CountWaitingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            $"SELECT tenant_id, workflow_id, status, COUNT(*) FROM runs WHERE status IN ({SqlDocuments.WaitingStatuses}) AND deleted_at IS NULL GROUP BY tenant_id, workflow_id, status;");
        return await SqlDocuments.ReadCountsAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<RunDocument>> ListDueWorkAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT doc::text FROM runs WHERE due_at <= $1 ORDER BY due_at LIMIT $2;", now.UtcTicks, limit);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    public async Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            $"SELECT doc::text FROM runs WHERE status = ANY($1) AND active_hour <= {ActiveHour("$2")} AND updated_at < $2 AND deleted_at IS NULL ORDER BY updated_at LIMIT $3;",
            statuses.Select(s => s.ToWire()).ToArray(),
            updatedBefore,
            limit);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    public async Task<IReadOnlyList<RunDocument>> ListPurgeableAsync(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(
            connection,
            """
            SELECT doc::text FROM (
                SELECT doc FROM runs WHERE expires_at <= $1 AND ($4 IS NULL OR tenant_id = $4)
                UNION ALL SELECT doc FROM runs WHERE deleted_at <= $2 AND (expires_at IS NULL OR expires_at > $1) AND ($4 IS NULL OR tenant_id = $4)) AS due
            LIMIT $3;
            """,
            expiredBy.UtcTicks,
            deletedBy.UtcTicks,
            limit,
            tenantId);
        return await SqlDocuments.ReadAllAsync<RunDocument>(command, cancellationToken);
    }

    /// <summary>The run first, checked against its version: a batch that finds it moved on erases nothing and rolls back.</summary>
    public async Task<bool> PurgeAsync(RunDocument run, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM runs WHERE id = $1 AND tenant_id = $2 AND version = $3;", run.Id, run.TenantId, run.Version));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM run_turns WHERE run_id = $1;", run.Id));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM run_labels WHERE tenant_id = $1 AND run_id = $2;", run.TenantId, run.Id));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND run_id = $2;", run.TenantId, run.Id));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM webhook_deliveries WHERE run_id = $1;", run.Id));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM file_chunks WHERE file_id IN (SELECT file_id FROM run_files WHERE run_id = $1 AND tenant_id = $2);", run.Id, run.TenantId));
        batch.BatchCommands.Add(Sql.BatchCommand("DELETE FROM run_files WHERE run_id = $1 AND tenant_id = $2;", run.Id, run.TenantId));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (batch.BatchCommands[0].RecordsAffected == 0)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Due times as UTC ticks (100 ns), not timestamptz (microseconds): exact, so a timer is listed neither early nor late.</summary>
    private static long? DueAt(RunDocument run) => run.DueAt?.UtcTicks;

    private static Sql.Json Document(RunDocument run) => Sql.AsJson(JsonSerializer.Serialize(run, DocumentJson.Options));
}
