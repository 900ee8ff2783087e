using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sessions.Api.Webhooks;
using Sessions.Runtime.Webhooks;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Webhooks through the real server and a real receiver on loopback: what is sent (the envelope, the turn's exact
/// answer, the Standard Webhooks signature), when (in the turn's commit; retried with backoff; given up), to whom (the
/// workflow's subscriptions, a run's own URL; never a private address unless allowed), and how often (at least once,
/// under one id; two servers never both claim one). The clock is a FakeTimeProvider; deliveries are made by calling
/// the dispatcher the background poller calls.
/// </summary>
public abstract class WebhookTests(StoreUnderTest store) : IAsyncLifetime
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private Dictionary<string, string?> settings = null!;
    private WebhookReceiver receiver = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        receiver = await WebhookReceiver.StartAsync(Secret);
        settings = await store.SettingsAsync();
        settings["Sessions:Webhooks:PollMilliseconds"] = "0";
        settings["Sessions:Webhooks:AllowPrivateNetworks"] = "true";
        settings["Sessions:Secrets:default:hook"] = Secret;
        factory = new SessionsFactory(null, settings, clock);
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await receiver.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task Each_turn_notifies_its_subscribers_signed_with_its_exact_answer_and_retries_under_one_id()
    {
        var workflowId = await client.UploadAsync(Workflow($$"""[{ "url": "{{receiver.Address}}signed", "events": ["run.waiting_for_user_input", "run.completed"], "secret": "hook" }]"""));
        receiver.FailNext("signed", 2);
        var first = await client.ExecuteAsync(workflowId, new { run_input = new { webhook_url = $"{receiver.Address}all" } });
        var firstAnswer = await first.Content.ReadAsStringAsync();
        var runId = JsonNode.Parse(firstAnswer)!["run_id"]!.GetValue<string>();

        // Due at once; the signed one fails twice (503), then is due after 1 s, then 2 s.
        Assert.Equal(2, await DeliverAsync());
        Assert.Equal(0, await DeliverAsync());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await DeliverAsync());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, await DeliverAsync());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await DeliverAsync());

        var signed = receiver.To("signed");
        Assert.Equal([503, 503, 204], signed.Select(r => r.Answered));
        Assert.Single(signed.Select(r => r.Id).Distinct());
        Assert.All(signed, r => Assert.True(r.SignatureValid));
        var envelope = JsonNode.Parse(signed[^1].Body)!;
        Assert.Equal(
            (signed[0].Id, "run.waiting_for_user_input", runId, workflowId, 1, "waiting_for_user_input"),
            (envelope["id"]!.GetValue<string>(), envelope["type"]!.GetValue<string>(), envelope["run_id"]!.GetValue<string>(),
                envelope["workflow_id"]!.GetValue<string>(), envelope["turn_number"]!.GetValue<int>(), envelope["status"]!.GetValue<string>()));
        Assert.Equal(firstAnswer, envelope["data"]!.ToJsonString());
        var unsigned = Assert.Single(receiver.To("all"));
        Assert.Null(unsigned.SignatureValid);

        // The reply completes the run: both subscribers hear of it.
        await client.ReplyAsync(workflowId, runId, "123456");
        Assert.Equal(2, await DeliverAsync());
        Assert.Equal("run.completed", JsonNode.Parse(receiver.To("signed")[^1].Body)!["type"]!.GetValue<string>());
        Assert.Equal(["run.waiting_for_user_input", "run.completed"], receiver.To("all").Select(r => JsonNode.Parse(r.Body)!["type"]!.GetValue<string>()));

        // The log shows every attempt; a redelivery sends the same id again.
        var log = await (await client.GetAsync($"/v1/runs/{runId}/webhook-deliveries")).ReadObjectAsync();
        var deliveries = log["deliveries"]!.AsArray();
        Assert.Equal(4, deliveries.Count);
        var retried = deliveries.Single(d => d!["id"]!.GetValue<string>() == signed[0].Id)!;
        Assert.Equal(("delivered", 3), (retried["state"]!.GetValue<string>(), retried["attempts"]!.AsArray().Count));
        Assert.Equal([503, 503, 204], retried["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()));
        var again = await client.PostAsync($"/v1/runs/{runId}/webhook-deliveries/{signed[0].Id}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(1, await DeliverAsync());
        Assert.Equal(signed[0].Id, receiver.To("signed")[^1].Id);
        var missing = await client.PostAsync($"/v1/runs/{runId}/webhook-deliveries/66a1f00000000000000000ff/redeliver", null);
        Assert.Equal("delivery_not_found", (await missing.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task A_delivery_that_keeps_failing_is_given_up_after_the_retry_period()
    {
        var short_ = new Dictionary<string, string?>(settings) { ["Sessions:Webhooks:RetryHours"] = "0.002" };
        await using var server = new SessionsFactory(null, short_, clock);
        var http = server.CreateClient();
        var workflowId = await http.UploadAsync(Workflow($$"""[{ "url": "{{receiver.Address}}down" }]"""));
        receiver.FailNext("down", int.MaxValue);
        var runId = (await http.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        var dispatcher = server.Services.GetRequiredService<WebhookDispatcher>();
        for (var second = 0; second < 10; second++)
        {
            await dispatcher.DeliverDueAsync(default);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        var delivery = (await (await http.GetAsync($"/v1/runs/{runId}/webhook-deliveries")).ReadObjectAsync())["deliveries"]!.AsArray().Single()!;
        Assert.Equal("failed", delivery["state"]!.GetValue<string>());
        Assert.Null(delivery["next_attempt_at"]);
        Assert.InRange(delivery["attempts"]!.AsArray().Count, 3, 5);
        Assert.All(delivery["attempts"]!.AsArray(), a => Assert.Equal(503, a!["status_code"]!.GetValue<int>()));
    }

    [ServerFact]
    public async Task Private_addresses_are_refused_unless_allowed()
    {
        var strict = new Dictionary<string, string?>(settings) { ["Sessions:Webhooks:AllowPrivateNetworks"] = "false" };
        await using var server = new SessionsFactory(null, strict, clock);
        var http = server.CreateClient();
        var workflowId = await http.UploadAsync(Workflow($$"""[{ "url": "{{receiver.Address}}private" }]"""));
        var runId = (await http.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        Assert.Equal(1, await server.Services.GetRequiredService<WebhookDispatcher>().DeliverDueAsync(default));

        Assert.Empty(receiver.To("private"));
        var attempt = (await (await http.GetAsync($"/v1/runs/{runId}/webhook-deliveries")).ReadObjectAsync())["deliveries"]![0]!["attempts"]![0]!;
        Assert.Null(attempt["status_code"]);
        Assert.Contains("private", attempt["error"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task Pollers_racing_for_the_same_deliveries_each_make_a_delivery_once()
    {
        // On a shared store, a second server on the same database; on SQLite, whose file one process owns, the one.
        await using var other = store is SqliteStoreUnderTest ? null : new SessionsFactory(null, settings, clock);
        other?.CreateClient();
        var workflowId = await client.UploadAsync(Workflow($$"""[{ "url": "{{receiver.Address}}race" }]"""));
        for (var i = 0; i < 12; i++)
        {
            await client.StartAsync(workflowId);
        }

        var dispatchers = new[] { factory, other ?? factory, factory, other ?? factory }.Select(f => f.Services.GetRequiredService<WebhookDispatcher>());
        var made = await Task.WhenAll(dispatchers.Select(d => Task.Run(() => d.DeliverDueAsync(default))));
        Assert.Equal(12, made.Sum());
        Assert.Equal(12, receiver.To("race").Select(r => r.Id).Distinct().Count());
        Assert.Equal(12, receiver.To("race").Count);
    }

    [ServerTheory]
    [InlineData("""[{ "url": "ftp://example.com/hook" }]""", "$.webhooks[0].url")]
    [InlineData("""[{ "url": "https://user:pw@example.com/hook" }]""", "$.webhooks[0].url")]
    [InlineData("""[{ "url": "https://example.com/hook", "events": ["run.exploded"] }]""", "$.webhooks[0].events")]
    [InlineData("""[{ "url": "https://example.com/hook", "events": [] }]""", "$.webhooks[0].events")]
    [InlineData("""[{ "url": "https://example.com/hook", "secret": 5 }]""", "$.webhooks[0].secret")]
    [InlineData("""{ "url": "https://example.com/hook" }""", "$.webhooks")]
    public async Task Bad_webhooks_are_refused_at_upload_with_their_path(string webhooks, string path)
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json(Workflow(webhooks)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains((await response.ReadObjectAsync())["errors"]!.AsArray(), e => e!["path"]!.GetValue<string>() == path);
    }

    [ServerFact]
    public async Task A_run_input_webhook_url_that_is_no_url_is_a_400()
    {
        var workflowId = await client.UploadAsync(Workflow("[]"));
        var response = await client.ExecuteAsync(workflowId, new { run_input = new { webhook_url = "not a url" } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("$.run_input.webhook_url", (await response.ReadObjectAsync())["errors"]![0]!["path"]!.GetValue<string>());
    }

    private Task<int> DeliverAsync() => factory.Services.GetRequiredService<WebhookDispatcher>().DeliverDueAsync(default);

    private static string Workflow(string webhooks) => $$$"""
        { "name": "Hooked", "start": "ask", "webhooks": {{{webhooks}}}, "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Order number?", "variable": "order", "next": "done" },
          { "id": "done", "type": "end", "output": "{{order}}" } ] }
        """;
}

public sealed class SqliteWebhookTests() : WebhookTests(new SqliteStoreUnderTest());

public sealed class PostgresWebhookTests() : WebhookTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoWebhookTests() : WebhookTests(new MongoStoreUnderTest());

/// <summary>The signature and the address rule on their own.</summary>
public sealed class WebhookSigningTests
{
    [Fact]
    public void A_signature_matches_the_standard_webhooks_example()
    {
        // The example of the Standard Webhooks specification: its secret, message id, timestamp and payload.
        var body = System.Text.Encoding.UTF8.GetBytes("""{"test": 2432232314}""");
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", HttpWebhookSender.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("2606:4700::1111", false)]
    public void Private_addresses_are_known_from_public_ones(string address, bool isPrivate) =>
        Assert.Equal(isPrivate, HttpWebhookSender.IsPrivate(IPAddress.Parse(address)));
}
