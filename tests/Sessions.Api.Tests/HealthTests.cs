using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Readiness as a load balancer sees it: `/health` answers 503 naming the failing check while the PostgreSQL server
/// under a running Sessions server is down, and 200 once it is back, while `/alive` answers throughout. The database
/// is a server of the test's own (<see cref="OwnPostgresServer"/>), stopped and started with `pg_ctl` as an operator
/// would; the shared one the other tests use is never touched.
/// </summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Health_is_503_naming_the_store_while_its_postgresql_server_is_down_and_200_when_it_is_back()
    {
        await using var database = await OwnPostgresServer.StartAsync();
        await using var factory = new SessionsFactory(null, new()
        {
            ["Sessions:Store"] = "postgres",
            ["Sessions:Postgres:ConnectionString"] = database.ConnectionString,
        });
        var client = factory.CreateClient();
        var ready = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("healthy", (await ready.ReadObjectAsync())["status"]!.GetValue<string>());

        await database.StopAsync();
        var down = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        var report = await down.ReadObjectAsync();
        Assert.Equal("unhealthy", report["status"]!.GetValue<string>());
        var store = Check(report, "store");
        Assert.Equal("unhealthy", store["status"]!.GetValue<string>());
        Assert.StartsWith("The store does not answer", store["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("healthy", Check(report, "migrations")["status"]!.GetValue<string>());
        Assert.Equal("Healthy", await client.GetStringAsync("/alive"));

        await database.StartAgainAsync();
        await Eventually.TrueAsync(async () => (await client.GetAsync("/health")).StatusCode == HttpStatusCode.OK, "ready again once PostgreSQL is back");
    }

    private static JsonNode Check(JsonObject report, string name) =>
        report["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
}
