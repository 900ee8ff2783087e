using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// SIGKILL the server while conversations are mid-turn, start another, and check that every run stopped at a turn
/// boundary, that no acknowledged turn was lost, and that clients retrying with their idempotency keys get correct
/// answers: exactly one turn per key. On PostgreSQL the dead server leaves leases to expire; on SQLite, group commits
/// in flight (many turns per transaction) die with it.
/// </summary>
/// <param name="turnMilliseconds">How long each turn's call takes: long enough on a shared store that a kill lands mid-turn.</param>
public abstract class CrashTests(StoreUnderTest store, int turnMilliseconds) : IAsyncLifetime
{
    private const int Conversations = 16;

    private LoopbackApi api = null!;
    private readonly TempDirectory folder = new();

    public async Task InitializeAsync() => api = await LoopbackApi.StartAsync("token");

    public async Task DisposeAsync()
    {
        await api.DisposeAsync();
        await store.DisposeAsync();
        folder.Dispose();
    }

    /// <summary>On a shared store, the kill left leases on runs and claims on keys that the dead server never committed.</summary>
    protected virtual Task AssertTheDeadServerLeftHoldsAsync() => Task.CompletedTask;

    [ServerFact]
    public async Task A_killed_server_leaves_every_run_at_a_turn_boundary_and_retries_complete_each_turn_once()
    {
        var stored = await store.SettingsAsync();
        stored["Sessions:Turns:LeaseSeconds"] = "2";
        stored["Sessions:RateLimit:PermitsPerSecond"] = "0";
        var settings = stored.Select(s => $"--{s.Key}={s.Value}").ToArray();
        var conversations = Enumerable.Range(0, Conversations).Select(i => new Conversation(i)).ToList();
        string workflowId;
        await using (var doomed = await ServerProcess.StartAsync(folder.File("sessions.db"), settings))
        {
            // Each turn waits on an HTTP call between taking its run and committing: a kill lands mid-turn.
            workflowId = await doomed.Client.UploadAsync($$$"""
                { "name": "Crashy", "start": "ask", "nodes": [
                  { "id": "ask", "type": "ask", "prompt": "Next?", "variable": "message", "next": "call" },
                  { "id": "call", "type": "http_request", "url": "{{{api.Address}}}delay/{{{turnMilliseconds}}}", "timeout_seconds": 10, "next": "ask" } ] }
                """);
            using var stop = new CancellationTokenSource();
            var load = conversations.Select(c => Task.Run(() => c.TalkUntilFailureAsync(doomed.Client, workflowId, stop.Token))).ToList();
            // Kill once every conversation is under way (a loaded CI machine may take a while to answer the first turns).
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (conversations.Any(c => c.Answered.Count < 2) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
            doomed.Kill();
            await Task.WhenAll(load);
        }

        Assert.All(conversations, c => Assert.True(c.Answered.Count > 0, $"conversation {c.Index} never got an answer"));

        // One client per run, one turn at a time: nothing may refuse a turn before the kill (a renewal of the turn's
        // idempotency key between its answer and its commit once did, under load).
        Assert.All(conversations, c => Assert.DoesNotContain(c.Statuses, status => status >= 400));
        Assert.Contains(conversations, c => c.Pending is not null);

        await AssertTheDeadServerLeftHoldsAsync();

        await using var survivor = await ServerProcess.StartAsync(folder.File("sessions.db"), settings);
        var client = survivor.Client;

        // Every run is at a turn boundary: its turns cover its events exactly, seq 1..n without gaps.
        foreach (var conversation in conversations.Where(c => c.RunId is not null))
        {
            await AssertConsistentAsync(client, conversation.RunId!, mayBeHeld: true);
        }

        // Retrying each unanswered request with its key: an answer for exactly the next turn, run or replayed.
        foreach (var conversation in conversations.Where(c => c.Pending is not null))
        {
            var (key, body) = conversation.Pending!.Value;
            var answer = await RetryUntilAnsweredAsync(client, workflowId, key, body);
            Assert.Equal(conversation.Answered.Count + 1, answer["turn_number"]!.GetValue<int>());
            Assert.Equal("waiting_for_user_input", answer["status"]!.GetValue<string>());
            conversation.Answered.Add(key);
            conversation.RunId ??= answer["run_id"]!.GetValue<string>();
        }

        foreach (var conversation in conversations)
        {
            var run = await AssertConsistentAsync(client, conversation.RunId!);
            Assert.Equal(conversation.Answered.Count, run["turn_number"]!.GetValue<int>());
        }

        var runs = await (await client.GetAsync($"/v1/workflows/{workflowId}/runs?limit=100")).ReadObjectAsync();
        Assert.Equal(Conversations, runs["total"]!.GetValue<int>());
        Assert.DoesNotContain(conversations.SelectMany(c => c.Statuses), status => status >= 500);
    }

    /// <param name="mayBeHeld">
    /// Right after the restart: a run the dead server held mid-turn reads as running until that lease runs out.
    /// </param>
    private static async Task<JsonObject> AssertConsistentAsync(HttpClient client, string runId, bool mayBeHeld = false)
    {
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();

        // Every turn and every event, page by page: a loaded machine lets a conversation run far past one page. Pages of
        // 50 turns (about 400 events) stay within a page's 1,000 events, so that every turn comes with all of its own.
        var turns = new List<JsonNode>();
        for (var page = $"/v1/runs/{runId}/turns?after_turn=-1&limit=50"; page is not null;)
        {
            var read = await (await client.GetAsync(page)).ReadObjectAsync();
            turns.AddRange(read["turns"]!.AsArray().Select(t => t!));
            page = read["next"]?.GetValue<string>();
        }

        var events = new List<JsonNode>();
        for (long after = 0; ;)
        {
            var read = await (await client.GetAsync($"/v1/runs/{runId}/events?after_seq={after}&limit=1000")).ReadObjectAsync();
            events.AddRange(read["events"]!.AsArray().Select(e => e!));
            if (!read["has_more"]!.GetValue<bool>())
            {
                break;
            }

            after = read["next_after_seq"]!.GetValue<long>();
        }

        Assert.All(turns, t => Assert.True(t["events_complete"]!.GetValue<bool>()));
        Assert.Equal(run["turn_number"]!.GetValue<int>(), turns.Count);
        Assert.Equal(Enumerable.Range(1, turns.Count), turns.Select(t => t!["turn_number"]!.GetValue<int>()));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(n => (long)n), events.Select(e => e!["seq"]!.GetValue<long>()));
        Assert.Equal(events.Select(e => e!["seq"]!.GetValue<long>()), turns.SelectMany(t => t!["events"]!.AsArray()).Select(e => e!["seq"]!.GetValue<long>()));
        Assert.Contains(run["status"]!.GetValue<string>(), (string[])(mayBeHeld ? ["waiting_for_user_input", "running"] : ["waiting_for_user_input"]));
        return run;
    }

    private static async Task<JsonObject> RetryUntilAnsweredAsync(HttpClient client, string workflowId, string key, string body)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.ExecuteWithKeyAsync(workflowId, key, body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.ReadObjectAsync();
            }

            // The dead server's leases on the run and the key run out within LeaseSeconds; until then, come back later.
            var problem = await response.ReadObjectAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Conflict, problem.ToJsonString());
            Assert.Contains(problem["code"]!.GetValue<string>(), new[] { "idempotency_key_in_flight", "turn_conflict" });
            Assert.True(DateTime.UtcNow < deadline, $"Still {problem["code"]} for {key}");
            await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>One client: sends its turns one after another, each with its own key, until the server goes away.</summary>
    private sealed class Conversation(int index)
    {
        public int Index => index;

        public string? RunId { get; set; }

        public List<string> Answered { get; } = [];

        public ConcurrentBag<int> Statuses { get; } = [];

        /// <summary>The request that was sent but never answered, to retry with the same key and body.</summary>
        public (string Key, string Body)? Pending { get; private set; }

        public async Task TalkUntilFailureAsync(HttpClient client, string workflowId, CancellationToken cancellationToken)
        {
            for (var turn = 1; !cancellationToken.IsCancellationRequested; turn++)
            {
                var key = $"c{index}-t{turn}";
                var body = RunId is null ? "{}" : $$$"""{"run_id":"{{{RunId}}}","run_input":{"user_message":"turn {{{turn}}}"}}""";
                try
                {
                    var response = await client.ExecuteWithKeyAsync(workflowId, key, body);
                    Statuses.Add((int)response.StatusCode);
                    response.EnsureSuccessStatusCode();
                    var answer = await response.ReadObjectAsync();
                    RunId ??= answer["run_id"]!.GetValue<string>();
                    Answered.Add(key);
                }
                catch (HttpRequestException)
                {
                    Pending = (key, body);
                    return;
                }
            }
        }
    }
}

public sealed class SqliteCrashTests() : CrashTests(new SqliteStoreUnderTest(), turnMilliseconds: 5);

public sealed class PostgresCrashTests : CrashTests
{
    private readonly PostgresStoreUnderTest database;

    public PostgresCrashTests()
        : this(new PostgresStoreUnderTest())
    {
    }

    private PostgresCrashTests(PostgresStoreUnderTest database)
        : base(database, turnMilliseconds: 80) => this.database = database;

    protected override async Task AssertTheDeadServerLeftHoldsAsync()
    {
        Assert.True(await CountAsync("SELECT COUNT(*) FROM runs WHERE doc->>'lease' IS NOT NULL") > 0);
        Assert.True(await CountAsync("SELECT COUNT(*) FROM idempotency_keys WHERE answer IS NULL") > 0);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoCrashTests : CrashTests
{
    private readonly MongoStoreUnderTest database;

    public MongoCrashTests()
        : this(new MongoStoreUnderTest())
    {
    }

    private MongoCrashTests(MongoStoreUnderTest database)
        : base(database, turnMilliseconds: 80) => this.database = database;

    protected override async Task AssertTheDeadServerLeftHoldsAsync()
    {
        using var client = new MongoDB.Driver.MongoClient(database.Server.ConnectionString);
        var stored = client.GetDatabase(database.Server.Database);
        var leased = MongoDB.Driver.Builders<MongoDB.Bson.BsonDocument>.Filter.Ne("lease", MongoDB.Bson.BsonNull.Value);
        var unanswered = MongoDB.Driver.Builders<MongoDB.Bson.BsonDocument>.Filter.Eq("answer", MongoDB.Bson.BsonNull.Value);
        Assert.True(await stored.GetCollection<MongoDB.Bson.BsonDocument>("workflow_runs").CountDocumentsAsync(leased) > 0);
        Assert.True(await stored.GetCollection<MongoDB.Bson.BsonDocument>("idempotency_keys").CountDocumentsAsync(unanswered) > 0);
    }
}
