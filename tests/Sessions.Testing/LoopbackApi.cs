using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Sessions.Testing;

/// <summary>
/// A small real JSON API on loopback for the http_request node: orders behind a bearer token, a flaky route, a delayed
/// one, a gated one (held until the test opens it) and answers no store may keep.
/// </summary>
public sealed class LoopbackApi : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, int> calls = new();
    private readonly ConcurrentDictionary<string, CallGate> gates = new();
    private readonly ConcurrentDictionary<string, bool> mended = new();

    private LoopbackApi(WebApplication app) => this.app = app;

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<string> SeenAuthorization { get; } = new();

    /// <summary>The `traceparent` each gate's call came with (empty when none).</summary>
    public ConcurrentDictionary<string, string> SeenTraceParents { get; } = new();

    public static async Task<LoopbackApi> StartAsync(string token)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var api = new LoopbackApi(app);

        app.MapGet("/orders/{id}", (string id, HttpRequest request) =>
        {
            api.SeenAuthorization.Enqueue(request.Headers.Authorization.ToString());
            if (request.Headers.Authorization != $"Bearer {token}" || request.Query["key"] != token)
            {
                return Results.Json(new { error = "unauthorized" }, statusCode: 401);
            }

            return id == "123456"
                ? Results.Json(new { id, status = "shipped", delivery = new { eta = "2026-12-01", carrier = "PostNord" } })
                : Results.Json(new { error = "no such order" }, statusCode: 404);
        });
        app.MapGet("/public/orders/{id}", (string id) => id == "123456"
            ? Results.Json(new { id, status = "shipped", delivery = new { eta = "2026-12-01" } })
            : Results.Json(new { error = "no such order" }, statusCode: 404));
        app.MapPost("/echo", async (HttpRequest request) => Results.Text(await new StreamReader(request.Body).ReadToEndAsync(), "application/json"));
        app.MapGet("/flaky/{key}", (string key) =>
            api.calls.AddOrUpdate(key, 1, (_, n) => n + 1) <= 2 ? Results.StatusCode(503) : Results.Json(new { ok = true }));
        // Down (500) until the test mends it; counts every call, so a test sees what was called again.
        app.MapGet("/broken/{key}", (string key) =>
        {
            api.calls.AddOrUpdate(key, 1, (_, n) => n + 1);
            return api.mended.ContainsKey(key) ? Results.Json(new { ok = true, key }) : Results.StatusCode(500);
        });
        // Not found (a status no retry policy retries) for the first `fails` calls, then found.
        app.MapGet("/missing-first/{fails:int}/{key}", (int fails, string key) =>
            api.calls.AddOrUpdate(key, 1, (_, n) => n + 1) <= fails ? Results.Json(new { error = "not yet" }, statusCode: 404) : Results.Json(new { ok = true }));
        app.MapGet("/count/{key}", (string key) => Results.Json(new { n = api.calls.AddOrUpdate(key, 1, (_, n) => n + 1) }));
        app.MapGet("/delay/{ms:int}", async (int ms) =>
        {
            await Task.Delay(ms);
            return Results.Json(new { ok = true });
        });
        // Answers no store may keep as they are: nested as deep as a parser allows, a lone surrogate escape, a NUL.
        app.MapGet("/hostile/deep", () => Results.Text("{\"v\":" + new string('[', 63) + "1" + new string(']', 63) + "}", "application/json"));
        app.MapGet("/hostile/surrogate", () => Results.Text("{\"name\":\"a\\ud800b\",\"ok\":true}", "application/json"));
        app.MapGet("/hostile/huge", async (HttpResponse response) =>
        {
            response.ContentType = "application/json";
            var chunk = System.Text.Encoding.UTF8.GetBytes(new string(' ', 64 * 1024));
            for (var i = 0; i < 80; i++)
            {
                await response.Body.WriteAsync(chunk);
            }
        });
        app.MapGet("/hostile/nul", () => Results.Text("{\"name\":\"a\\u0000b\",\"ok\":true}", "application/json"));
        app.MapGet("/gate/{name}", async (string name, HttpRequest request) =>
        {
            api.SeenTraceParents[name] = request.Headers["traceparent"].ToString();
            var gate = api.Gate(name);
            gate.Arrive();
            await gate.Opened;
            return Results.Json(new { ok = true });
        });

        await app.StartAsync();
        api.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return api;
    }

    public int Calls(string key) => calls.GetValueOrDefault(key);

    /// <summary>`/broken/{key}` answers 200 from now on.</summary>
    public void Mend(string key) => mended[key] = true;

    /// <summary>The gate `/gate/{name}` waits at: a call that a test holds open for as long as it needs, then lets through.</summary>
    public CallGate Gate(string name) => gates.GetOrAdd(name, _ => new CallGate());

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

/// <summary>Tells a test when a call has arrived, and holds the call until the test opens the gate.</summary>
public sealed class CallGate
{
    private readonly TaskCompletionSource arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Arrived => arrived.Task;

    public Task Opened => opened.Task;

    public void Open() => opened.TrySetResult();

    public void Arrive() => arrived.TrySetResult();
}
