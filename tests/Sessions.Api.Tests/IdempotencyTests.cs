using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Storage;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Exactly-once turns: Idempotency-Key, expected_turn, and one turn at a time per run, against the real server on
/// each store: on SQLite the one process holds runs and keys in flight in memory; on PostgreSQL they are leased in the
/// store (<see cref="MultiInstanceTests"/> adds a second instance).
/// </summary>
public abstract class IdempotencyTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private LoopbackApi api = null!;

    public async Task InitializeAsync()
    {
        var settings = await store.SettingsAsync();
        settings["Sessions:Turns:LeaseSeconds"] = "2";
        factory = new SessionsFactory(null, settings);
        client = factory.CreateClient();
        api = await LoopbackApi.StartAsync("token");
    }

    public async Task DisposeAsync()
    {
        await api.DisposeAsync();
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task A_retried_first_turn_gets_the_first_answer_byte_for_byte_and_makes_one_run()
    {
        var first = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "start-1", """{"run_input":{"run_by":"ada"}}""");
        var firstBytes = await first.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));

        for (var retry = 0; retry < 3; retry++)
        {
            var again = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "start-1", """{"run_input":{"run_by":"ada"}}""");
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal("application/json; charset=utf-8", again.Content.Headers.ContentType!.ToString());
            Assert.Equal(firstBytes, await again.Content.ReadAsByteArrayAsync());
        }

        var runs = await (await client.GetAsync($"/v1/runs?workflow_id={SessionsFactory.OrderStatus}&run_by=ada")).ReadObjectAsync();
        Assert.Equal(1, runs["total"]!.GetValue<int>());

        // The stored answer is what execute answers without a key, too: same shape, same fields.
        var plain = await (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_input = new { run_by = "bob" } })).ReadObjectAsync();
        var keyed = JsonNode.Parse(firstBytes)!.AsObject();
        Assert.Equal(plain.Select(p => p.Key), keyed.Select(p => p.Key));
        Assert.Equal(plain["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()), keyed["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()));
    }

    [ServerFact]
    public async Task A_retried_reply_is_applied_once_and_a_new_key_takes_the_next_turn()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var body = $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"000000"}}""";
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "reply-1", body)));

        // Racing copies either get the answer or are told the first is still running; none runs the turn again.
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        var retried = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "reply-1", body);
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(2, run["turn_number"]!.GetValue<int>());
        Assert.Equal(2, run["turns"]!.AsArray().Count);
        var answered = await retried.Content.ReadAsStringAsync();
        foreach (var ok in answers.Where(a => a.StatusCode == HttpStatusCode.OK))
        {
            Assert.Equal(answered, await ok.Content.ReadAsStringAsync());
        }

        foreach (var busy in answers.Where(a => a.StatusCode == HttpStatusCode.Conflict))
        {
            var problem = await busy.ReadObjectAsync();
            Assert.Contains(problem["code"]!.GetValue<string>(), new[] { "idempotency_key_in_flight", "turn_conflict" });
        }

        var next = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "reply-2", $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"123456"}}""");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(3, (await next.ReadObjectAsync())["turn_number"]!.GetValue<int>());
    }

    [ServerFact]
    public async Task The_same_key_with_another_body_is_refused_and_changes_nothing()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var first = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "k", $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"123456"}}""");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var before = await client.GetStringAsync($"/v1/runs/{runId}");

        var reused = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "k", $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"no"}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType!.MediaType);
        Assert.Equal("idempotency_key_reused", (await reused.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(before, await client.GetStringAsync($"/v1/runs/{runId}"));
    }

    [ServerFact]
    public async Task A_refused_request_gives_its_key_back_so_a_corrected_retry_runs()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var refused = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "fix-me", $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"12"}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("invalid_reply", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());

        var corrected = await client.ExecuteWithKeyAsync(SessionsFactory.OrderStatus, "fix-me", $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"123456"}}""");
        Assert.Equal(HttpStatusCode.OK, corrected.StatusCode);
    }

    [ServerFact]
    public async Task A_request_still_in_flight_with_the_key_is_a_409_with_retry_after_then_the_answer()
    {
        var gate = api.Gate("in-flight");
        var slow = await client.UploadAsync($$$"""
            { "name": "Slow", "start": "call", "nodes": [
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/in-flight", "timeout_seconds": 30, "next": "done" },
              { "id": "done", "type": "end", "output": "done" } ] }
            """);
        var first = client.ExecuteWithKeyAsync(slow, "slow-1", "{}");
        await gate.Arrived;
        var during = await client.ExecuteWithKeyAsync(slow, "slow-1", "{}");
        Assert.Equal(HttpStatusCode.Conflict, during.StatusCode);
        Assert.True(during.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        var problem = await during.ReadObjectAsync();
        Assert.Equal("idempotency_key_in_flight", problem["code"]!.GetValue<string>());

        gate.Open();
        var answer = await first;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var after = await client.ExecuteWithKeyAsync(slow, "slow-1", "{}");
        Assert.Equal(await answer.Content.ReadAsStringAsync(), await after.Content.ReadAsStringAsync());
        Assert.Equal(1, (await (await client.GetAsync($"/v1/workflows/{slow}/runs")).ReadObjectAsync())["total"]!.GetValue<int>());
    }

    [ServerFact]
    public async Task A_retried_streamed_turn_streams_the_first_turns_events_and_answer_again()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var body = $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"123456"}}""";

        async Task<(List<SseReader.Message> Messages, bool Replayed)> StreamAsync()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute/stream") { Content = Http.Json(body) };
            request.Headers.Add("Idempotency-Key", "stream-1");
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
            var messages = new List<SseReader.Message>();
            SseReader.Message? message;
            while ((message = await sse.NextAsync()) is not null)
            {
                messages.Add(message);
                if (message.Event == "result")
                {
                    break;
                }
            }

            return (messages, response.Headers.Contains("Idempotent-Replayed"));
        }

        var first = await StreamAsync();
        var again = await StreamAsync();
        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal(first.Messages.Select(m => m.Id), again.Messages.Select(m => m.Id));
        Assert.True(JsonNode.DeepEquals(first.Messages[^1].Json, again.Messages[^1].Json));
        Assert.Equal("completed", again.Messages[^1].Json["status"]!.GetValue<string>());
        Assert.Equal(2, (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["turn_number"]!.GetValue<int>());
    }

    [ServerTheory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    [InlineData("has space")]
    [InlineData("ключ")]
    public async Task A_malformed_key_is_a_400(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute") { Content = Http.Json("{}") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_idempotency_key", (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task Expected_turn_refuses_a_turn_on_a_run_another_tab_moved()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var moved = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, expected_turn = 1, run_input = new { user_message = "123456" } });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);

        var stale = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, expected_turn = 1, run_input = new { user_message = "yes" } });
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        var problem = await stale.ReadObjectAsync();
        Assert.Equal(("turn_mismatch", 2), (problem["code"]!.GetValue<string>(), problem["current_turn"]!.GetValue<int>()));

        var wrongType = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, expected_turn = "2" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal(2, (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["turn_number"]!.GetValue<int>());
    }
}

public sealed class SqliteIdempotencyTests() : IdempotencyTests(new SqliteStoreUnderTest());

public sealed class PostgresIdempotencyTests() : IdempotencyTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoIdempotencyTests() : IdempotencyTests(new MongoStoreUnderTest());
