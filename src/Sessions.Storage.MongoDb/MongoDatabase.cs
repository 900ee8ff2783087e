using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// The client, the database and its upkeep. Every write is acknowledged by a majority of the replica set and every
/// read is of majority-committed data, so nothing a turn was told is committed can be rolled back by a failover; a
/// turn's commit is one multi-document transaction at snapshot read concern.
/// </summary>
public sealed class MongoDatabase : IStoreLifecycle
{
    private static readonly TransactionOptions Transaction = new(ReadConcern.Snapshot, ReadPreference.Primary, WriteConcern.WMajority);

    private readonly MongoClient client;

    private readonly ILogger logger;

    public MongoDatabase(IOptions<MongoStoreOptions> options, ILogger<MongoDatabase>? logger = null)
    {
        this.logger = logger ?? NullLogger<MongoDatabase>.Instance;
        var settings = MongoClientSettings.FromConnectionString(options.Value.ConnectionString);
        settings.ReadConcern = ReadConcern.Majority;
        settings.WriteConcern = WriteConcern.WMajority;
        settings.ReadPreference = ReadPreference.Primary;
        client = new MongoClient(settings);
        Database = client.GetDatabase(options.Value.Database);
    }

    public IMongoDatabase Database { get; }

    public IMongoCollection<BsonDocument> Collection(string name) => Database.GetCollection<BsonDocument>(name);

    /// <summary>Creates the collections and indexes that are missing; what exists (say, from mongo-init.js) is kept.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        BsonDocument hello;
        try
        {
            hello = await Database.RunCommandAsync<BsonDocument>(new BsonDocument("hello", 1), cancellationToken: cancellationToken);
        }
        catch (TimeoutException ex)
        {
            // The driver's own message dumps its whole view of the cluster; a person needs the gist.
            throw new InvalidOperationException(
                $"No MongoDB server answered at {string.Join(", ", client.Settings.Servers)} within {client.Settings.ServerSelectionTimeout.TotalSeconds:0.#} s (is it running, and is the connection string right?).",
                ex);
        }

        if (!hello.Contains("setName") && hello.GetValue("msg", "").ToString() != "isdbgrid")
        {
            throw new InvalidOperationException(
                "The MongoDB server is a standalone server; a turn's commit is a transaction, which needs a replica set (a single-node one will do: mongod --replSet rs0, then rs.initiate()) or a sharded cluster.");
        }

        var existing = (await (await Database.ListCollectionNamesAsync(cancellationToken: cancellationToken)).ToListAsync(cancellationToken)).ToHashSet();
        foreach (var name in MongoSchema.Collections.Where(name => !existing.Contains(name)))
        {
            try
            {
                await Database.CreateCollectionAsync(name, cancellationToken: cancellationToken);
            }
            catch (MongoCommandException ex) when (ex.CodeName == "NamespaceExists")
            {
                // Another instance starting at the same time created it first.
            }
        }

        foreach (var index in MongoSchema.Indexes)
        {
            var options = new CreateIndexOptions { Name = index.Name, Unique = index.Unique ? true : null };
            if (index.ExpireAfterSeconds is { } seconds)
            {
                options.ExpireAfter = TimeSpan.FromSeconds(seconds);
            }

            // Creating an index that exists with the same keys and options is a no-op, so every instance may do it.
            await Collection(index.Collection).Indexes.CreateOneAsync(new CreateIndexModel<BsonDocument>(index.Keys, options), cancellationToken: cancellationToken);
        }

        if (existing.Contains(MongoSchema.EarlierEvents))
        {
            await MongoEventsUpgrade.RunAsync(this, logger, cancellationToken);
        }
    }

    public Task CheckAsync(CancellationToken cancellationToken) =>
        Database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction; the driver runs it again on a transient error (a write
    /// conflict with a concurrent transaction), where it finds what the winner wrote and decides again.
    /// </summary>
    public async Task<T> InTransactionAsync<T>(Func<IClientSessionHandle, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var session = await client.StartSessionAsync(cancellationToken: cancellationToken);
        return await session.WithTransactionAsync(work, Transaction, cancellationToken);
    }

    public static bool IsDuplicateKey(MongoException ex) =>
        ex is MongoWriteException { WriteError.Category: ServerErrorCategory.DuplicateKey }
        || ex is MongoBulkWriteException bulk && bulk.WriteErrors.Any(e => e.Category == ServerErrorCategory.DuplicateKey)
        || ex is MongoCommandException { Code: 11000 };
}
