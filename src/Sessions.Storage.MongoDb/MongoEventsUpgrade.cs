using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Storage;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// Moves the events of a database written before one record per turn (a `run_events` document per event) into their
/// turns' `events` arrays, a few runs per transaction, then drops the collection. Each batch sets its turns' events and
/// deletes the events' documents together, and setting a turn's events twice sets the same array, so instances starting
/// together may both work and an upgrade interrupted anywhere goes on from where it stopped when a server next starts;
/// a server answers no request until it is done. Servers of the earlier release must be stopped first.
/// </summary>
internal static class MongoEventsUpgrade
{
    public static async Task RunAsync(MongoDatabase database, ILogger logger, CancellationToken cancellationToken)
    {
        var events = database.Collection(MongoSchema.EarlierEvents);
        var turns = database.Collection(MongoSchema.Turns);
        var moved = 0L;
        while (true)
        {
            var runs = (await events.Aggregate()
                    .Group(new BsonDocument("_id", "$run_id"))
                    .Sort(new BsonDocument("_id", 1))
                    .Limit(EarlierEvents.RunsPerBatch)
                    .ToListAsync(cancellationToken))
                .Select(d => d["_id"].AsString)
                .ToList();
            if (runs.Count == 0)
            {
                await database.Database.DropCollectionAsync(MongoSchema.EarlierEvents, cancellationToken);
                if (moved > 0)
                {
                    logger.LogInformation("Moved {Events} events into their turns; the upgrade to one record per turn is done.", moved);
                }

                return;
            }

            var ofRuns = Builders<BsonDocument>.Filter.In("run_id", runs);
            var rows = await events.Find(ofRuns).Sort(Builders<BsonDocument>.Sort.Ascending("run_id").Ascending("seq")).ToListAsync(cancellationToken);
            var groups = EarlierEvents.ByTurn(rows.Select(d => new EarlierEvent<BsonDocument>(d["run_id"].AsString, d["seq"].ToInt64(), d["turn_number"].AsInt32, d))).ToList();
            await database.InTransactionAsync(
                async (session, ct) =>
                {
                    foreach (var group in groups)
                    {
                        var turn = Builders<BsonDocument>.Filter.Eq("run_id", group.RunId)
                            & Builders<BsonDocument>.Filter.Eq("turn_number", group.TurnNumber)
                            & Builders<BsonDocument>.Filter.Eq("last_seq", group.LastSeq);
                        var array = new BsonArray(group.Events.Select(e => new BsonDocument
                        {
                            ["type"] = e["type"],
                            ["node_id"] = e["node_id"],
                            ["timestamp"] = e["timestamp"],
                            ["fields"] = e["fields"],
                        }));
                        if ((await turns.UpdateOneAsync(session, turn, Builders<BsonDocument>.Update.Set("events", array), cancellationToken: ct)).MatchedCount != 1)
                        {
                            throw new InvalidOperationException(
                                $"Run {group.RunId} has events up to {group.LastSeq} for turn {group.TurnNumber}, but no such turn document ending there; its events cannot be moved into it. The database is left as it was from this batch on.");
                        }
                    }

                    await events.DeleteManyAsync(session, ofRuns, cancellationToken: ct);
                    return true;
                },
                cancellationToken);
            moved += rows.Count;
            logger.LogInformation("Moved the events of {Runs} more runs into their turns ({Events} events so far).", runs.Count, moved);
        }
    }
}
