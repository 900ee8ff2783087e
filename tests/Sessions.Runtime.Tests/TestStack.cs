using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Nodes;
using Sessions.Runtime;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Workflows;
using Sessions.Storage.Sqlite;

namespace Sessions.Testing;

/// <summary>The runtime wired as the server wires it, on a real SQLite file in a temp folder, without HTTP.</summary>
public sealed class TestStack : IAsyncDisposable
{
    public const string Tenant = "tenant-a";

    private readonly TempDirectory folder = new();
    private readonly ServiceProvider services;

    private TestStack()
    {
        var collection = new ServiceCollection();
        collection.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        collection.AddSessionsRuntime().AddSessionsNodes().AddSqliteStore();
        collection.Configure<SqliteStoreOptions>(o => o.Path = folder.File("sessions.db"));
        services = collection.BuildServiceProvider();
    }

    public WorkflowService Workflows => services.GetRequiredService<WorkflowService>();

    public TurnPipeline Turns => services.GetRequiredService<TurnPipeline>();

    public IRunStore Runs => services.GetRequiredService<IRunStore>();

    public IWorkflowStore WorkflowStore => services.GetRequiredService<IWorkflowStore>();

    public T Get<T>()
        where T : notnull => services.GetRequiredService<T>();

    public static async Task<TestStack> StartAsync()
    {
        var stack = new TestStack();
        await stack.services.GetRequiredService<IStoreLifecycle>().InitializeAsync(CancellationToken.None);
        return stack;
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
    }
}
