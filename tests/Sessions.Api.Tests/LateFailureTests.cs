using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Answers;
using Sessions.Testing;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Tests;

/// <summary>
/// Failures late in a turn, forced on the real server and store: the answer cannot be written, the commit fails before
/// the database applies it, the commit fails after it did (a lost reply), and the read-back fails too. In each case the
/// answer says truly whether the turn was applied, and a client that retries after any answer it got never has its
/// reply applied twice.
/// </summary>
public abstract class LateFailureTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private WebApplicationFactoryWithFaults server = null!;
    private HttpClient client = null!;

    private FaultyRunStore Store => (FaultyRunStore)server.Services.GetRequiredService<IRunStore>();

    private FaultyAnswers Writer => (FaultyAnswers)server.Services.GetRequiredService<TurnAnswers>();

    public async Task InitializeAsync()
    {
        factory = new SessionsFactory(null, await store.SettingsAsync());
        server = new WebApplicationFactoryWithFaults(factory);
        client = server.Factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await server.Factory.DisposeAsync();
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [Fact]
    public async Task An_answer_that_cannot_be_written_refuses_the_turn_and_a_retry_applies_it_once()
    {
        var runId = await StartAsync();
        Writer.FailNext = true;
        var refused = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "late-1", Reply(runId));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("answer_not_writable", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(1, await TurnAsync(runId));

        var retried = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "late-1", Reply(runId));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(2, await TurnAsync(runId));
    }

    [Fact]
    public async Task A_background_turn_whose_answer_cannot_be_written_is_recorded_as_refused_not_retried_forever()
    {
        var runId = await StartAsync();
        Writer.FailNext = true;
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute") { Content = Http.Json(Reply(runId)) };
        request.Headers.Add("Prefer", "respond-async");
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(request)).StatusCode);

        var joined = await client.GetAsync($"/v1/runs/{runId}/turns/2/result?wait_seconds=30");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, joined.StatusCode);
        Assert.Equal("answer_not_writable", (await joined.ReadObjectAsync())["code"]!.GetValue<string>());
        var run = await RunJsonAsync(runId);
        Assert.Equal(("waiting_for_user_input", 2), (run["status"]!.GetValue<string>(), run["turn_number"]!.GetValue<int>()));
        Assert.Null(run["progress"]);
    }

    [Fact]
    public async Task A_commit_that_fails_before_it_is_applied_answers_500_and_changes_nothing()
    {
        var runId = await StartAsync();
        var before = (await RunJsonAsync(runId)).ToJsonString();
        Store.FailNextCommit = CommitFault.BeforeApplying;
        var failed = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Contains("nothing was changed", (await failed.ReadObjectAsync())["detail"]!.GetValue<string>());
        Assert.Equal(before, (await RunJsonAsync(runId)).ToJsonString());

        var retried = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(2, await TurnAsync(runId));
    }

    [Fact]
    public async Task A_commit_that_was_applied_but_reported_a_failure_answers_as_committed()
    {
        var runId = await StartAsync();
        Store.FailNextCommit = CommitFault.AfterApplying;
        var answered = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var answer = await answered.ReadObjectAsync();
        Assert.Equal(2, answer["turn_number"]!.GetValue<int>());
        Assert.Equal("completed", answer["status"]!.GetValue<string>());
        Assert.Equal(2, await TurnAsync(runId));
        Assert.Equal(2, (await Store.GetAllTurnsAsync("default", runId, default)).Count);
    }

    [Fact]
    public async Task When_whether_a_commit_was_applied_cannot_be_known_the_answer_says_so_and_keyed_retries_apply_it_once()
    {
        var runId = await StartAsync();
        Store.FailNextCommit = CommitFault.AfterApplyingAndUnreadable;
        var unknown = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "late-4", Reply(runId, expectedTurn: 1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unknown.StatusCode);
        var problem = await unknown.ReadObjectAsync();
        Assert.Equal("commit_outcome_unknown", problem["code"]!.GetValue<string>());
        Assert.Equal(2, problem["turn_number"]!.GetValue<int>());

        // It was applied; the keyed retry gets its answer, and a retry by expected_turn is refused, not applied again.
        var keyed = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "late-4", Reply(runId, expectedTurn: 1));
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
        Assert.Equal(2, (await keyed.ReadObjectAsync())["turn_number"]!.GetValue<int>());
        var byTurn = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, expected_turn = 1, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.Conflict, byTurn.StatusCode);
        Assert.Equal(2, await TurnAsync(runId));
        Assert.Equal(2, (await Store.GetAllTurnsAsync("default", runId, default)).Count);
    }

    private static string Reply(string runId, int? expectedTurn = null) =>
        JsonSerializer.Serialize(new { run_id = runId, expected_turn = expectedTurn, run_input = new { user_message = "123456" } });

    private async Task<string> StartAsync() => (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();

    private async Task<int> TurnAsync(string runId) => (await RunJsonAsync(runId))["turn_number"]!.GetValue<int>();

    private async Task<JsonObject> RunJsonAsync(string runId)
    {
        var response = await client.GetAsync($"/v1/runs/{runId}");
        response.EnsureSuccessStatusCode();
        return await response.ReadObjectAsync();
    }

    public enum CommitFault
    {
        None,
        BeforeApplying,
        AfterApplying,
        AfterApplyingAndUnreadable,
    }

    /// <summary>The real store, with one fault injected into its next commit on request.</summary>
    public sealed class FaultyRunStore(IRunStore store) : IRunStore
    {
        public string DbSystem => store.DbSystem;

        private volatile bool unreadable;

        public CommitFault FailNextCommit { get; set; }

        public async Task CommitTurnAsync(TurnCommit commit, CancellationToken cancellationToken)
        {
            var fault = FailNextCommit;
            FailNextCommit = CommitFault.None;
            if (fault == CommitFault.BeforeApplying)
            {
                throw new IOException("injected: the connection dropped before the commit");
            }

            await store.CommitTurnAsync(commit, cancellationToken);
            if (fault != CommitFault.None)
            {
                unreadable = fault == CommitFault.AfterApplyingAndUnreadable;
                throw new IOException("injected: the connection dropped after the commit, before its reply");
            }
        }

        public Task<RunDocument?> GetAsync(string tenantId, string runId, CancellationToken cancellationToken)
        {
            if (unreadable)
            {
                unreadable = false;
                throw new IOException("injected: the store cannot be reached");
            }

            return store.GetAsync(tenantId, runId, cancellationToken);
        }

        public Task<ReplaceResult> TryReplaceAsync(RunDocument run, long expectedVersion, WriteDurability durability, CancellationToken cancellationToken) =>
            store.TryReplaceAsync(run, expectedVersion, durability, cancellationToken);

        public Task<IReadOnlyList<RunEvent>> GetEventsAsync(string tenantId, string runId, long afterSeq, int limit, CancellationToken cancellationToken) =>
            store.GetEventsAsync(tenantId, runId, afterSeq, limit, cancellationToken);

        public Task<IReadOnlyList<TurnDocument>> GetTurnsAsync(string tenantId, string runId, int afterTurn, int limit, CancellationToken cancellationToken) =>
            store.GetTurnsAsync(tenantId, runId, afterTurn, limit, cancellationToken);

        public Task<Page<RunSummary>> ListAsync(string tenantId, RunQuery query, CancellationToken cancellationToken) =>
            store.ListAsync(tenantId, query, cancellationToken);

        public Task<IReadOnlyDictionary<Sessions.Runtime.Runs.RunStatus, long>> CountByStatusAsync(string tenantId, RunQuery query, CancellationToken cancellationToken) =>
            store.CountByStatusAsync(tenantId, query, cancellationToken);

        public Task<long> CountDueWorkAsync(DateTimeOffset now, CancellationToken cancellationToken) => store.CountDueWorkAsync(now, cancellationToken);

        public Task<IReadOnlyList<RunCount>> CountWaitingAsync(CancellationToken cancellationToken) => store.CountWaitingAsync(cancellationToken);

        public Task<IReadOnlyList<RunDocument>> ListDueWorkAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
            store.ListDueWorkAsync(now, limit, cancellationToken);

        public Task<IReadOnlyList<RunDocument>> ListInactiveAsync(IReadOnlyList<Sessions.Runtime.Runs.RunStatus> statuses, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken) =>
            store.ListInactiveAsync(statuses, updatedBefore, limit, cancellationToken);

        public Task<IReadOnlyList<RunDocument>> ListPurgeableAsync(string? tenantId, DateTimeOffset expiredBy, DateTimeOffset deletedBy, int limit, CancellationToken cancellationToken) =>
            store.ListPurgeableAsync(tenantId, expiredBy, deletedBy, limit, cancellationToken);

        public Task<bool> PurgeAsync(RunDocument run, CancellationToken cancellationToken) => store.PurgeAsync(run, cancellationToken);
    }

    /// <summary>The real answers, failing once on request, as an answer that cannot be written would.</summary>
    public sealed class FaultyAnswers : TurnAnswers
    {
        public bool FailNext { get; set; }

        public override string Write(TurnOutcome outcome)
        {
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("injected: the answer cannot be written");
            }

            return base.Write(outcome);
        }
    }

    /// <summary>The factory's server with the faulty store and answer writer around the real ones.</summary>
    private sealed class WebApplicationFactoryWithFaults(SessionsFactory inner)
    {
        public Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Factory { get; } = inner.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.Decorate<IRunStore, FaultyRunStore>();
            services.AddSingleton<TurnAnswers, FaultyAnswers>();
        }));

        public IServiceProvider Services => Factory.Services;
    }
}

public sealed class SqliteLateFailureTests() : LateFailureTests(new SqliteStoreUnderTest());

public sealed class PostgresLateFailureTests() : LateFailureTests(new PostgresStoreUnderTest());
