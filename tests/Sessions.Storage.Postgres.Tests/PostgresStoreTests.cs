using Microsoft.Extensions.Options;
using Npgsql;
using Sessions.Storage.Conformance;
using Sessions.Testing;

namespace Sessions.Storage.Postgres.Tests;

/// <summary>The conformance suite, unchanged, on a fresh database of the real PostgreSQL server; then what is PostgreSQL's own.</summary>
public sealed class PostgresStoreTests : StoreConformanceTests
{
    private TestPostgres server = null!;
    private PostgresDatabase database = null!;

    public override async Task InitializeAsync()
    {
        server = await TestPostgres.CreateAsync();
        database = new PostgresDatabase(Options.Create(new PostgresStoreOptions { ConnectionString = server.ConnectionString }));
        await database.InitializeAsync(CancellationToken.None);
        Lifecycle = database;
        Workflows = new PostgresWorkflowStore(database);
        Runs = new PostgresRunStore(database);
        Keys = new PostgresIdempotencyStore(database);
        Deliveries = new PostgresWebhookStore(database);
        Files = new PostgresFileStore(database);
        Batches = new PostgresBatchStore(database);
        Conversations = new PostgresConversationStore(database);
    }

    public override async Task DisposeAsync()
    {
        await database.DisposeAsync();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Instances_starting_together_apply_each_migration_once()
    {
        var others = Enumerable.Range(0, 4)
            .Select(_ => new PostgresDatabase(Options.Create(new PostgresStoreOptions { ConnectionString = server.ConnectionString })))
            .ToList();
        await Task.WhenAll(others.Select(other => other.InitializeAsync(CancellationToken.None)));
        foreach (var other in others)
        {
            await other.DisposeAsync();
        }

        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations;", connection);
        Assert.Equal(string.Join(",", Enumerable.Range(1, PostgresDatabase.MigrationCount)), await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Run_documents_keep_their_text_and_workflow_documents_are_jsonb()
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            """
            SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns
            WHERE table_schema = 'public' AND column_name IN ('doc', 'events') ORDER BY 1;
            """,
            connection);
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns.Add(reader.GetString(0));
        }

        Assert.Equal(["batch_items.doc:json", "batches.doc:json", "run_files.doc:json", "run_turns.doc:json", "run_turns.events:json", "runs.doc:json", "webhook_deliveries.doc:json", "workflows.doc:jsonb"], columns);
    }

    [Fact]
    public void A_missing_connection_string_stops_startup_with_the_key_to_set()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new PostgresDatabase(Options.Create(new PostgresStoreOptions())));
        Assert.Contains("Sessions:Postgres:ConnectionString", error.Message);
    }
}
