using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Postgres;

/// <summary>
/// The pooled data source and the schema. Documents the server reads back exactly as written (runs, events, turns,
/// answers) are `json`, which keeps their text and key order; the workflow document, which only the server reads, is
/// `jsonb`. Times that are compared in SQL (leases, retention, listing order) are real `timestamptz` columns.
/// </summary>
public sealed class PostgresDatabase : IStoreLifecycle, IAsyncDisposable
{
    /// <summary>Ordered, append-only: a released migration is never edited, only followed by a new one.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE workflows (
            id text PRIMARY KEY,
            tenant_id text NOT NULL,
            created_at timestamptz NOT NULL,
            doc jsonb NOT NULL);
        CREATE INDEX ix_workflows_tenant_created ON workflows (tenant_id, created_at DESC, id DESC);
        CREATE TABLE workflow_versions (
            workflow_id text NOT NULL,
            version_number integer NOT NULL,
            tenant_id text NOT NULL,
            name text NOT NULL,
            definition text NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (workflow_id, version_number));
        CREATE TABLE runs (
            id text PRIMARY KEY,
            tenant_id text NOT NULL,
            workflow_id text NOT NULL,
            status text NOT NULL,
            version bigint NOT NULL,
            run_by text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            lease_owner text,
            lease_expires_at timestamptz,
            doc json NOT NULL);
        CREATE INDEX ix_runs_tenant_created ON runs (tenant_id, created_at DESC, id DESC);
        CREATE INDEX ix_runs_tenant_workflow ON runs (tenant_id, workflow_id, created_at DESC);
        CREATE INDEX ix_runs_tenant_status ON runs (tenant_id, status);
        CREATE INDEX ix_runs_tenant_run_by ON runs (tenant_id, run_by, created_at DESC);
        CREATE INDEX ix_runs_status_updated ON runs (status, updated_at);
        CREATE TABLE run_events (
            run_id text NOT NULL,
            seq bigint NOT NULL,
            turn_number integer NOT NULL,
            type text NOT NULL,
            payload json NOT NULL,
            PRIMARY KEY (run_id, seq));
        CREATE TABLE run_turns (
            run_id text NOT NULL,
            turn_number integer NOT NULL,
            doc json NOT NULL,
            PRIMARY KEY (run_id, turn_number));
        CREATE TABLE idempotency_keys (
            tenant_id text NOT NULL,
            key text NOT NULL,
            request_hash text NOT NULL,
            owner text NOT NULL,
            lease_expires_at timestamptz,
            retain_until timestamptz NOT NULL,
            answer text,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, key));
        CREATE INDEX ix_idempotency_keys_retain ON idempotency_keys (retain_until);
        """,
        """
        ALTER TABLE runs DROP COLUMN lease_owner, DROP COLUMN lease_expires_at;
        ALTER TABLE idempotency_keys ADD COLUMN version bigint NOT NULL DEFAULT 1;
        """,
        """
        ALTER TABLE runs ADD COLUMN timer_due_at bigint;
        CREATE INDEX ix_runs_timer_due ON runs (timer_due_at) WHERE timer_due_at IS NOT NULL;
        CREATE TABLE webhook_deliveries (
            id text PRIMARY KEY,
            tenant_id text NOT NULL,
            run_id text NOT NULL,
            state text NOT NULL,
            due_at bigint NOT NULL,
            version bigint NOT NULL,
            doc json NOT NULL);
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending';
        CREATE INDEX ix_webhook_deliveries_run ON webhook_deliveries (run_id, id);
        """,
        """
        ALTER TABLE runs RENAME COLUMN timer_due_at TO due_at;
        ALTER INDEX ix_runs_timer_due RENAME TO ix_runs_due;
        """,
        """
        CREATE TABLE run_labels (
            tenant_id text NOT NULL,
            label text NOT NULL,
            run_id text NOT NULL,
            PRIMARY KEY (tenant_id, label, run_id));
        """,
        """
        ALTER TABLE runs ADD COLUMN deleted_at bigint;
        ALTER TABLE runs ADD COLUMN expires_at bigint;
        CREATE INDEX ix_runs_deleted ON runs (deleted_at) WHERE deleted_at IS NOT NULL;
        CREATE INDEX ix_runs_expires ON runs (expires_at) WHERE expires_at IS NOT NULL;
        ALTER TABLE idempotency_keys ADD COLUMN run_id text;
        CREATE INDEX ix_idempotency_keys_run ON idempotency_keys (run_id) WHERE run_id IS NOT NULL;
        """,
        """
        CREATE TABLE run_files (
            file_id text PRIMARY KEY,
            tenant_id text NOT NULL,
            run_id text NOT NULL,
            doc json NOT NULL);
        CREATE INDEX ix_run_files_run ON run_files (run_id);
        CREATE TABLE file_chunks (
            file_id text NOT NULL,
            chunk integer NOT NULL,
            tenant_id text NOT NULL,
            created_at bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (file_id, chunk));
        CREATE INDEX ix_file_chunks_created ON file_chunks (created_at);
        """,
        """
        CREATE TABLE batches (
            id text PRIMARY KEY,
            tenant_id text NOT NULL,
            status text NOT NULL,
            version bigint NOT NULL,
            created_at timestamptz NOT NULL,
            doc json NOT NULL);
        CREATE INDEX ix_batches_running ON batches (created_at) WHERE status = 'running';
        CREATE TABLE batch_items (
            batch_id text NOT NULL,
            item_index integer NOT NULL,
            tenant_id text NOT NULL,
            state text NOT NULL,
            version bigint NOT NULL,
            doc json NOT NULL,
            PRIMARY KEY (batch_id, item_index));
        CREATE INDEX ix_batch_items_open ON batch_items (batch_id, item_index) WHERE state IN ('pending', 'running');
        """,
        """
        CREATE FUNCTION sessions_require_one_row(written bigint, what text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF written <> 1 THEN
                RAISE EXCEPTION USING ERRCODE = 'SN001', MESSAGE = what;
            END IF;
        END
        $$;
        """,
        """
        CREATE TABLE conversation_links (
            tenant_id text NOT NULL,
            protocol text NOT NULL,
            external_id text NOT NULL,
            run_id text NOT NULL,
            created_by text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            metadata json NOT NULL,
            PRIMARY KEY (tenant_id, protocol, external_id));
        CREATE INDEX ix_conversation_links_created ON conversation_links (tenant_id, protocol, created_at);
        CREATE INDEX ix_conversation_links_run ON conversation_links (tenant_id, run_id);
        """,
        // One record per turn: a turn's events are kept with it (moved there by PostgresLayoutUpgrade, which then drops
        // run_events); a run's turns with events are found by their last seq, for reads of the events after one.
        """
        ALTER TABLE run_turns ADD COLUMN last_seq bigint, ADD COLUMN events json;
        CREATE INDEX ix_run_turns_last_seq ON run_turns (run_id, last_seq) WHERE events IS NOT NULL;
        """,
        // A run's update is HOT where it can be: no index keys on a column an ordinary turn changes (the reaper's on
        // the hour of the last change, filled in for older runs by PostgresLayoutUpgrade), and its page has room.
        """
        ALTER TABLE runs ADD COLUMN active_hour bigint;
        ALTER TABLE runs SET (fillfactor = 70);
        DROP INDEX ix_runs_status_updated;
        CREATE INDEX ix_runs_status_active_hour ON runs (status, active_hour);
        CREATE INDEX ix_runs_without_active_hour ON runs (id) WHERE active_hour IS NULL;
        """,
    ];

    /// <summary>Any fixed number: instances starting together take this lock so that one of them migrates.</summary>
    private const long MigrationLock = 0x5E55_1045;

    private readonly NpgsqlDataSource dataSource;

    private readonly ILogger logger;

    public PostgresDatabase(IOptions<PostgresStoreOptions> options, ILogger<PostgresDatabase>? logger = null)
    {
        this.logger = logger ?? NullLogger<PostgresDatabase>.Instance;
        if (string.IsNullOrWhiteSpace(options.Value.ConnectionString))
        {
            throw new InvalidOperationException(
                $"Sessions:Store is 'postgres' but {PostgresStoreOptions.Section}:ConnectionString is empty; set it (for example Sessions__Postgres__ConnectionString).");
        }

        var connection = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString) { MaxPoolSize = options.Value.MaxPoolSize };
        if (connection.MaxAutoPrepare == 0)
        {
            // Every turn sends the same few statements: prepared once per connection, they skip PostgreSQL's parse and plan.
            connection.MaxAutoPrepare = 64;
            connection.AutoPrepareMinUsages = 2;
        }

        // Nothing here leaves state on a session (no SET, LISTEN, session locks or temporary tables), so a pooled
        // connection needs no reset before its next use: the reset was a statement PostgreSQL ran on every open.
        connection.NoResetOnClose = true;
        dataSource = NpgsqlDataSource.Create(connection);
    }

    public static int MigrationCount => Migrations.Length;

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => dataSource.OpenConnectionAsync(cancellationToken);

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock});", cancellationToken);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);", cancellationToken);

        await SqlMigrations.ApplyAsync(transaction, Migrations, DateTimeOffset.UtcNow, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await PostgresLayoutUpgrade.RunAsync(this, MigrationLock, logger, cancellationToken);
    }

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "SELECT 1 FROM schema_migrations LIMIT 1;", cancellationToken);
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
