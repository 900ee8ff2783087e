using Microsoft.Extensions.Options;
using Sessions.Storage.Conformance;
using Sessions.Testing;

namespace Sessions.Storage.MongoDb.Tests;

/// <summary>
/// The conformance suite, unchanged, on a fresh database of the MongoDB replica set that SESSIONS_TEST_MONGODB names.
/// No MongoDB server can be installed on this project's CI machines: there every test here is reported as skipped.
/// </summary>
[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoStoreTests : StoreConformanceTests
{
    private TestMongo server = null!;

    public override async Task InitializeAsync()
    {
        server = TestMongo.Create();
        var database = new MongoDatabase(Options.Create(new MongoStoreOptions { ConnectionString = server.ConnectionString, Database = server.Database }));
        await database.InitializeAsync(CancellationToken.None);
        Lifecycle = database;
        Workflows = new MongoWorkflowStore(database);
        Runs = new MongoRunStore(database);
        Keys = new MongoIdempotencyStore(database);
        Deliveries = new MongoWebhookStore(database);
        Files = new MongoFileStore(database);
        Batches = new MongoBatchStore(database);
        Conversations = new MongoConversationStore(database);
    }

    public override async Task DisposeAsync() => await server.DisposeAsync();
}
