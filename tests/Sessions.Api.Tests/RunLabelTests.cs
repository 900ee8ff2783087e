using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Runs labelled by their first turn (`metadata`, `origin_*`) are found by those labels in run lists and stats, on
/// every store, through HTTP; bad labels are a 400 that writes nothing.
/// </summary>
public abstract class RunLabelTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        factory = new SessionsFactory(null, await store.SettingsAsync());
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task Runs_are_found_by_their_metadata_and_origin_and_show_them()
    {
        var tag = Guid.NewGuid().ToString("n");
        async Task<string> StartAsync(object input) => (await client.StartAsync(SessionsFactory.OrderStatus, input))["run_id"]!.GetValue<string>();
        var gold = await StartAsync(new { metadata = new { batch = tag, tier = "gold", seats = 5, vip = true }, origin_reference = $"order-{tag}", origin_zone = "eu-1" });
        // Numbers match as they were written: 5.0 is not 5.
        var silver = (await (await client.PostAsync(
            $"/v1/workflows/{SessionsFactory.OrderStatus}/execute",
            Http.Json($$$"""{"run_input":{"metadata":{"batch":"{{{tag}}}","tier":"silver","seats":5.0},"origin_instance":"web-2"}}"""))).ReadObjectAsync())["run_id"]!.GetValue<string>();
        await StartAsync(new { metadata = new { batch = "other" } });

        async Task<string[]> FindAsync(string query) =>
            (await (await client.GetAsync($"/v1/runs?{query}&limit=100")).ReadObjectAsync())["items"]!.AsArray().Select(r => r!["run_id"]!.GetValue<string>()).Order().ToArray();
        Assert.Equal(new[] { gold, silver }.Order(), await FindAsync($"metadata.batch={tag}"));
        Assert.Equal([gold], await FindAsync($"metadata.batch={tag}&metadata.tier=gold"));
        Assert.Equal([gold], await FindAsync($"metadata.batch={tag}&metadata.seats=5"));
        Assert.Equal([silver], await FindAsync($"metadata.batch={tag}&metadata.seats=5.0"));
        Assert.Equal([gold], await FindAsync($"metadata.vip=true&metadata.batch={tag}"));
        Assert.Equal([gold], await FindAsync($"origin_reference=order-{tag}"));
        Assert.Equal([gold], await FindAsync($"origin_zone=eu-1&metadata.batch={tag}"));
        Assert.Equal([silver], await FindAsync($"origin_instance=web-2&metadata.batch={tag}"));
        Assert.Empty(await FindAsync($"metadata.batch={tag}&metadata.tier=bronze"));

        var stats = await (await client.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/runs/stats?metadata.batch={tag}")).ReadObjectAsync();
        Assert.Equal(2, stats["total"]!.GetValue<int>());

        var run = await (await client.GetAsync($"/v1/runs/{gold}")).ReadObjectAsync();
        Assert.Equal(("gold", 5, true, $"order-{tag}", "eu-1"), (run["metadata"]!["tier"]!.GetValue<string>(), run["metadata"]!["seats"]!.GetValue<int>(), run["metadata"]!["vip"]!.GetValue<bool>(), run["origin_reference"]!.GetValue<string>(), run["origin_zone"]!.GetValue<string>()));
        var listed = (await (await client.GetAsync($"/v1/runs?origin_reference=order-{tag}")).ReadObjectAsync())["items"]![0]!;
        Assert.Equal("gold", listed["metadata"]!["tier"]!.GetValue<string>());

        // Labels are the first turn's: a later turn's are ignored, as for webhook_url.
        await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = gold, run_input = new { user_message = "123456", metadata = new { tier = "changed" } } });
        Assert.Equal("gold", (await (await client.GetAsync($"/v1/runs/{gold}")).ReadObjectAsync())["metadata"]!["tier"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task Bad_labels_and_bad_label_filters_are_400s_that_name_the_field()
    {
        var before = (await (await client.GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>();
        var bad = await client.ExecuteAsync(SessionsFactory.OrderStatus, new
        {
            run_input = new
            {
                metadata = new Dictionary<string, object?> { ["ok"] = "fine", ["bad key"] = "x", ["nested"] = new { a = 1 }, ["none"] = null, ["long"] = new string('x', 513) },
                origin_reference = "",
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var paths = (await bad.ReadObjectAsync())["errors"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()).ToList();
        Assert.Equal(
            ["$.run_input.metadata.bad key", "$.run_input.metadata.nested", "$.run_input.metadata.none", "$.run_input.metadata.long", "$.run_input.origin_reference"],
            paths);
        Assert.Equal(before, (await (await client.GetAsync("/v1/runs")).ReadObjectAsync())["total"]!.GetValue<int>());

        var tooMany = new Dictionary<string, object?>(Enumerable.Range(0, 33).Select(i => new KeyValuePair<string, object?>($"k{i}", i)));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_input = new { metadata = tooMany } })).StatusCode);

        foreach (var query in new[] { "metadata.bad%20key=1", "metadata.tier=a&metadata.tier=b", "metadata.tier=", "origin_reference=" })
        {
            var refused = await client.GetAsync($"/v1/runs?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_request", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());
        }
    }
}

public sealed class SqliteRunLabelTests() : RunLabelTests(new SqliteStoreUnderTest());

public sealed class PostgresRunLabelTests() : RunLabelTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoRunLabelTests() : RunLabelTests(new MongoStoreUnderTest());
