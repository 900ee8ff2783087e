using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Telemetry;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Tests;

/// <summary>
/// What a shared store's races look like to an operator, on PostgreSQL with two servers: a lease left by a dead server
/// and taken once it expired counts as a takeover (`expired`), a stop on one server taking the run from the turn on
/// the other as one (`preempted`), and writes the version check refused as store conflicts.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class SharedStoreTelemetryTests : IAsyncLifetime, IDisposable
{
    private readonly PostgresStoreUnderTest store = new();
    private readonly MeterListener listener = new();
    private readonly ConcurrentQueue<(string Instrument, string? Kind)> counted = new();
    private Dictionary<string, string?> settings = null!;

    public async Task InitializeAsync()
    {
        settings = await store.SettingsAsync();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SessionsTelemetry.Name && instrument.Name is "sessions.lease.takeovers" or "sessions.store.conflicts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            string? kind = null;
            foreach (var tag in tags)
            {
                if (tag.Key is SessionsTelemetry.LeaseTakeover or SessionsTelemetry.StoreWrite)
                {
                    kind = tag.Value as string;
                }
            }

            counted.Enqueue((instrument.Name, kind));
        });
        listener.Start();
    }

    public async Task DisposeAsync() => await store.DisposeAsync();

    public void Dispose() => listener.Dispose();

    [Fact]
    public async Task Takeovers_of_expired_and_preempted_leases_and_refused_writes_are_counted()
    {
        await using var api = await LoopbackApi.StartAsync("token");

        // A dead server's lease, taken once it expired (on a server whose clock the test moves on).
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using (var later = new SessionsFactory(null, new(settings), clock))
        {
            var client = later.CreateClient();
            var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
            var runs = later.Services.GetRequiredService<IRunStore>();
            var run = (await runs.GetAsync("default", runId, default))!;
            Assert.True((await runs.TryReplaceAsync(RunLeases.Taken(run, new TurnLease("dead-server", clock.GetUtcNow().AddSeconds(30))), run.Version, WriteDurability.Provisional, default)).Written);
            clock.Advance(TimeSpan.FromSeconds(31));
            Assert.Equal(HttpStatusCode.OK, (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "123456" } })).StatusCode);
            Assert.Single(counted, c => c == ("sessions.lease.takeovers", "expired"));
        }

        // A stop on one server takes the run from the turn running on the other.
        await using var first = new SessionsFactory(null, new(settings));
        await using var second = new SessionsFactory(null, new(settings));
        var running = second.CreateClient();
        var workflow = await running.UploadAsync($$$"""
            { "name": "Held", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Next?", "variable": "message", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/held", "timeout_seconds": 60, "next": "ask" } ] }
            """);
        var heldRun = (await running.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var turn = running.ExecuteAsync(workflow, new { run_id = heldRun, run_input = new { user_message = "one" } });
        await api.Gate("held").Arrived;
        Assert.Equal(HttpStatusCode.OK, (await first.CreateClient().ExecuteAsync(workflow, new { run_id = heldRun, run_input = new { command = "stop" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await turn.WaitAsync(TimeSpan.FromSeconds(20))).StatusCode);
        Assert.Contains(counted, c => c == ("sessions.lease.takeovers", "preempted"));

        // Replies racing from both servers: the losers' writes are refused by the version check, and counted.
        var raced = (await running.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        HttpClient[] clients = [first.CreateClient(), second.CreateClient()];
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => clients[i % 2].ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = raced, run_input = new { user_message = "000000" } })));
        Assert.Contains(counted, c => c.Instrument == "sessions.store.conflicts" && c.Kind is "commit" or "lease");
    }
}
