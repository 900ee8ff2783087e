using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.Sqlite;

/// <summary>
/// Opens connections to the database file and keeps its schema current. WAL lets readers run beside the one writer
/// (<see cref="WriteAsync"/>, which group-commits); synchronous stays FULL, so a committed turn survives a power cut,
/// not just a crash.
/// </summary>
public sealed class SqliteDatabase : IStoreLifecycle, IAsyncDisposable, IDisposable
{
    /// <summary>Ordered, append-only: a released migration is never edited, only followed by a new one.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE workflows (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE INDEX ix_workflows_tenant_created ON workflows (tenant_id, created_at DESC, id DESC);
        CREATE TABLE workflow_versions (
            workflow_id TEXT NOT NULL,
            version_number INTEGER NOT NULL,
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            definition TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (workflow_id, version_number)) WITHOUT ROWID;
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            workflow_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            run_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            doc TEXT NOT NULL);
        CREATE INDEX ix_runs_tenant_created ON runs (tenant_id, created_at DESC);
        CREATE INDEX ix_runs_tenant_workflow ON runs (tenant_id, workflow_id, created_at DESC);
        CREATE TABLE run_events (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            turn_number INTEGER NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
        CREATE TABLE run_turns (
            run_id TEXT NOT NULL,
            turn_number INTEGER NOT NULL,
            input TEXT NOT NULL,
            output TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            completed_at TEXT NOT NULL,
            PRIMARY KEY (run_id, turn_number)) WITHOUT ROWID;
        """,
        """
        ALTER TABLE run_turns ADD COLUMN state TEXT;
        CREATE INDEX ix_runs_tenant_status ON runs (tenant_id, status);
        CREATE INDEX ix_runs_tenant_run_by ON runs (tenant_id, run_by, created_at DESC);
        """,
        """
        ALTER TABLE runs ADD COLUMN lease_owner TEXT;
        ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
        CREATE INDEX ix_runs_status_updated ON runs (status, updated_at);
        CREATE TABLE idempotency_keys (
            tenant_id TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            owner TEXT NOT NULL,
            lease_expires_at INTEGER,
            retain_until INTEGER NOT NULL,
            answer TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, key)) WITHOUT ROWID;
        CREATE INDEX ix_idempotency_keys_retain ON idempotency_keys (retain_until);
        """,
        """
        ALTER TABLE runs DROP COLUMN lease_owner;
        ALTER TABLE runs DROP COLUMN lease_expires_at;
        """,
        """
        ALTER TABLE run_turns ADD COLUMN changes TEXT;
        ALTER TABLE idempotency_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        """,
        """
        ALTER TABLE runs ADD COLUMN timer_due_at INTEGER;
        CREATE INDEX ix_runs_timer_due ON runs (timer_due_at) WHERE timer_due_at IS NOT NULL;
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            state TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending';
        CREATE INDEX ix_webhook_deliveries_run ON webhook_deliveries (run_id, id);
        """,
        """
        DROP INDEX ix_runs_timer_due;
        ALTER TABLE runs RENAME COLUMN timer_due_at TO due_at;
        CREATE INDEX ix_runs_due ON runs (due_at) WHERE due_at IS NOT NULL;
        """,
        """
        CREATE TABLE run_labels (
            tenant_id TEXT NOT NULL,
            label TEXT NOT NULL,
            run_id TEXT NOT NULL,
            PRIMARY KEY (tenant_id, label, run_id)) WITHOUT ROWID;
        """,
        """
        ALTER TABLE runs ADD COLUMN deleted_at INTEGER;
        ALTER TABLE runs ADD COLUMN expires_at INTEGER;
        CREATE INDEX ix_runs_deleted ON runs (deleted_at) WHERE deleted_at IS NOT NULL;
        CREATE INDEX ix_runs_expires ON runs (expires_at) WHERE expires_at IS NOT NULL;
        ALTER TABLE idempotency_keys ADD COLUMN run_id TEXT;
        CREATE INDEX ix_idempotency_keys_run ON idempotency_keys (run_id) WHERE run_id IS NOT NULL;
        """,
        """
        CREATE TABLE run_files (
            file_id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX ix_run_files_run ON run_files (run_id);
        CREATE TABLE file_chunks (
            file_id TEXT NOT NULL,
            chunk INTEGER NOT NULL,
            tenant_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (file_id, chunk));
        CREATE INDEX ix_file_chunks_created ON file_chunks (created_at);
        """,
        """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX ix_batches_running ON batches (created_at) WHERE status = 'running';
        CREATE TABLE batch_items (
            batch_id TEXT NOT NULL,
            item_index INTEGER NOT NULL,
            tenant_id TEXT NOT NULL,
            state TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (batch_id, item_index)) WITHOUT ROWID;
        CREATE INDEX ix_batch_items_open ON batch_items (batch_id, item_index) WHERE state IN ('pending', 'running');
        """,
        """
        CREATE TABLE conversation_links (
            tenant_id TEXT NOT NULL,
            protocol TEXT NOT NULL,
            external_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            created_by TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            metadata TEXT NOT NULL,
            PRIMARY KEY (tenant_id, protocol, external_id)) WITHOUT ROWID;
        CREATE INDEX ix_conversation_links_created ON conversation_links (tenant_id, protocol, created_at);
        CREATE INDEX ix_conversation_links_run ON conversation_links (tenant_id, run_id);
        """,
        """
        ALTER TABLE run_turns ADD COLUMN calls TEXT;
        """,
        // One record per turn: a turn's events are kept with it (moved there by SqliteEventsUpgrade, which then drops
        // run_events); a run's turns are found by their last seq, for reads of the events after one.
        """
        ALTER TABLE run_turns ADD COLUMN events TEXT;
        CREATE INDEX ix_run_turns_last_seq ON run_turns (run_id, last_seq);
        """,
    ];

    /// <summary>Lease and retention times are kept as Unix milliseconds, so that comparing them is comparing numbers.</summary>
    public static long Millis(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private readonly string connectionString;
    private readonly SqliteWriter writer;
    private readonly ILogger logger;
    private FileStream? ownership;

    public SqliteDatabase(IOptions<SqliteStoreOptions> options, ILogger<SqliteDatabase>? logger = null)
    {
        FilePath = System.IO.Path.GetFullPath(options.Value.Path);
        CompressJsonOverBytes = options.Value.CompressJsonOverBytes;
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        this.logger = logger ?? NullLogger<SqliteDatabase>.Instance;
        writer = new SqliteWriter(OpenAsync, this.logger);
    }

    public string FilePath { get; }

    /// <summary>A turn record's JSON column longer than this is kept deflated (<see cref="SqliteStoreOptions.CompressJsonOverBytes"/>).</summary>
    public int CompressJsonOverBytes { get; }

    /// <summary>How many runs' events one transaction of the upgrade to one record per turn moves (smaller in tests).</summary>
    internal int UpgradeRunsPerBatch { get; init; } = EarlierEvents.RunsPerBatch;

    /// <summary>
    /// Runs <paramref name="work"/> as one write of the next group commit (see <see cref="SqliteWriter"/>): inside a
    /// transaction, rolled back alone if it throws, and returned once durable. Every write to the file goes through here.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        writer.WriteAsync(work, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await writer.DisposeAsync();
        ownership?.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
        TakeOwnership();
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);", cancellationToken);

        // Immediate: the write lock is taken at once, so that no other connection writes while the schema changes.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await SqlMigrations.ApplyAsync(transaction, Migrations, DateTimeOffset.UtcNow, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await SqliteEventsUpgrade.RunAsync(connection, UpgradeRunsPerBatch, CompressJsonOverBytes, logger, cancellationToken);
    }

    /// <summary>
    /// The file belongs to this process while it runs: turns of a run are kept apart and idempotency keys held in its
    /// memory, which another process could not see. A second server on the same file refuses to start; the lock goes
    /// with the process, however it ends. Readers (backups, tests) are not affected.
    /// </summary>
    private void TakeOwnership()
    {
        if (ownership is not null)
        {
            return;
        }

        try
        {
            ownership = new FileStream(FilePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another server process is using the SQLite store {FilePath}. The embedded store belongs to one process; stop the other one, "
                + "give this one another Sessions:Sqlite:Path, or share a PostgreSQL database between instances (Sessions:Store=postgres).",
                ex);
        }
    }

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "SELECT 1 FROM schema_migrations LIMIT 1;", cancellationToken);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
