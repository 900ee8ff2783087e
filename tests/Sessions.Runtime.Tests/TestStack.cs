using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Nodes;
using Sessions.Runtime;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Workflows;
using Sessions.Storage.Postgres;
using Sessions.Storage.Sqlite;

namespace Sessions.Testing;

/// <summary>The store a test stack runs on.</summary>
public enum TestStore
{
    /// <summary>A SQLite file in a temp folder, owned by the stack: turns are kept apart in memory.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database of its own on the server `.ci/run` starts: turns lease their runs.</summary>
    Postgres,
}

/// <summary>
/// The runtime wired as the server wires it, without HTTP, on a real store: a SQLite file in a temp folder, or a
/// PostgreSQL database of its own that a second stack may share (two servers on one database).
/// </summary>
public sealed class TestStack : IAsyncDisposable
{
    public const string Tenant = "tenant-a";

    private readonly TempDirectory folder = new();
    private readonly ServiceProvider services;
    private readonly TestPostgres? ownedDatabase;

    private TestStack(TestStore store, string? postgres, TestPostgres? ownedDatabase, Action<IServiceCollection>? configure)
    {
        this.ownedDatabase = ownedDatabase;
        var collection = new ServiceCollection();
        collection.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        collection.AddSessionsRuntime().AddSessionsNodes();
        if (store == TestStore.Sqlite)
        {
            collection.AddSqliteStore();
            collection.Configure<SqliteStoreOptions>(o => o.Path = folder.File("sessions.db"));
        }
        else
        {
            collection.AddPostgresStore();
            collection.Configure<Sessions.Storage.Postgres.PostgresStoreOptions>(o => o.ConnectionString = postgres!);
        }

        configure?.Invoke(collection);
        services = collection.BuildServiceProvider();
    }

    /// <summary>The connection string of the PostgreSQL database the stack runs on, for a second stack to share.</summary>
    public string? Postgres { get; private init; }

    public WorkflowService Workflows => services.GetRequiredService<WorkflowService>();

    public TurnPipeline Turns => services.GetRequiredService<TurnPipeline>();

    public IRunStore Runs => services.GetRequiredService<IRunStore>();

    public IWorkflowStore WorkflowStore => services.GetRequiredService<IWorkflowStore>();

    public T Get<T>()
        where T : notnull => services.GetRequiredService<T>();

    public static Task<TestStack> StartAsync() => StartAsync(TestStore.Sqlite);

    /// <param name="configure">Changes to the services, such as a clock the test moves or shorter leases.</param>
    public static async Task<TestStack> StartAsync(TestStore store, Action<IServiceCollection>? configure = null)
    {
        var database = store == TestStore.Postgres ? await TestPostgres.CreateAsync() : null;
        var stack = new TestStack(store, database?.ConnectionString, database, configure) { Postgres = database?.ConnectionString };
        await stack.services.GetRequiredService<IStoreLifecycle>().InitializeAsync(CancellationToken.None);
        return stack;
    }

    /// <summary>A second server on this stack's PostgreSQL database: it shares every run, and the database is this stack's.</summary>
    public async Task<TestStack> SecondServerAsync(Action<IServiceCollection>? configure = null)
    {
        var second = new TestStack(TestStore.Postgres, Postgres ?? throw new InvalidOperationException("Only a PostgreSQL stack has a second server."), null, configure) { Postgres = Postgres };
        await second.services.GetRequiredService<IStoreLifecycle>().InitializeAsync(CancellationToken.None);
        return second;
    }

    public async Task<string> UploadAsync(string definitionJson) =>
        (await Workflows.CreateAsync(Tenant, JsonNode.Parse(definitionJson), CancellationToken.None)).Workflow.Id;

    public Task<TurnOutcome> TurnAsync(string workflowId, string? runId, string? message = null, TurnCommand command = TurnCommand.Start) =>
        Turns.ExecuteAsync(
            new TurnRequest { TenantId = Tenant, WorkflowId = workflowId, RunId = runId, UserMessage = message, Command = command },
            CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await services.DisposeAsync();
        folder.Dispose();
        if (ownedDatabase is not null)
        {
            await ownedDatabase.DisposeAsync();
        }
    }
}
