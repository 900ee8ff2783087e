using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Testing;

/// <summary>
/// A real OpenAI-compatible chat endpoint on loopback with scripted behaviour, so the official SDK and our code run
/// unmodified. The last user message steers it: `[500]` fails, `[429-once]` is rate-limited once, `[slow]` answers after
/// two seconds. JSON-mode requests get `{"order_id": first six digits}`; yes/no judges say yes when the conversation
/// mentions a refund; with no user message it greets; anything else is answered "You said: ...". /broken/v1 always fails.
/// </summary>
public sealed partial class LoopbackOpenAi : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, int> seen = new();

    private LoopbackOpenAi(WebApplication app) => this.app = app;

    public Uri Address { get; private set; } = null!;

    public string BaseUrl => new Uri(Address, "/v1").ToString();

    public string BrokenBaseUrl => new Uri(Address, "/broken/v1").ToString();

    public ConcurrentQueue<(JsonObject Body, string? Authorization)> Requests { get; } = new();

    /// <summary>The W3C `traceparent` of each request, as it came (null without one).</summary>
    public ConcurrentQueue<string?> TraceParents { get; } = new();

    public static async Task<LoopbackOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new LoopbackOpenAi(app);
        app.MapPost("/v1/chat/completions", server.CompleteAsync);
        app.MapPost("/broken/v1/chat/completions", () => Results.Json(new { error = new { message = "always down", type = "server_error" } }, statusCode: 500));
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    private async Task CompleteAsync(HttpContext http)
    {
        var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        Requests.Enqueue((body, http.Request.Headers.Authorization.FirstOrDefault()));
        TraceParents.Enqueue(http.Request.Headers["traceparent"].FirstOrDefault());
        var messages = body["messages"]!.AsArray().Select(m => (Role: m!["role"]!.GetValue<string>(), Text: Text(m["content"]))).ToList();
        var last = messages.LastOrDefault(m => m.Role == "user").Text ?? string.Empty;
        var model = body["model"]!.GetValue<string>();

        if (last.Contains("[500]"))
        {
            await Results.Json(new { error = new { message = "scripted failure", type = "server_error" } }, statusCode: 500).ExecuteAsync(http);
            return;
        }

        if (last.Contains("[429-once]") && seen.AddOrUpdate(last, 1, (_, n) => n + 1) == 1)
        {
            await Results.Json(new { error = new { message = "slow down", type = "rate_limit" } }, statusCode: 429).ExecuteAsync(http);
            return;
        }

        if (last.Contains("[slow]"))
        {
            await Task.Delay(TimeSpan.FromSeconds(2), http.RequestAborted);
        }

        var reply = body["response_format"]?["type"]?.GetValue<string>() == "json_object"
            ? new JsonObject { ["order_id"] = SixDigits().Match(last).Value }.ToJsonString()
            : messages.Any(m => m.Role == "system" && m.Text.Contains("yes/no question"))
                ? messages.SkipLast(1).Any(m => m.Role != "system" && m.Text.Contains("refund", StringComparison.OrdinalIgnoreCase)) ? "Yes." : "No."
                : last.Length == 0 ? "Hello! How can I help?" : $"You said: {last}";
        var input = messages.Sum(m => m.Text.Length) / 4 + 1;
        var output = reply.Split(' ').Length;
        var usage = new JsonObject { ["prompt_tokens"] = input, ["completion_tokens"] = output, ["total_tokens"] = input + output };

        if (body["stream"]?.GetValue<bool>() == true)
        {
            http.Response.ContentType = "text/event-stream";
            var words = reply.Split(' ');
            for (var i = 0; i < words.Length; i++)
            {
                await Chunk(http, model, new JsonObject { ["role"] = "assistant", ["content"] = (i == 0 ? string.Empty : " ") + words[i] }, null);
            }

            await Chunk(http, model, null, usage);
            await http.Response.WriteAsync("data: [DONE]\n\n");
            return;
        }

        await Results.Json(new JsonObject
        {
            ["id"] = "chatcmpl-loopback",
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = usage,
        }).ExecuteAsync(http);
    }

    private static async Task Chunk(HttpContext http, string model, JsonObject? delta, JsonObject? usage)
    {
        var chunk = new JsonObject
        {
            ["id"] = "chatcmpl-loopback",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = null }),
        };
        if (usage is not null)
        {
            chunk["usage"] = usage;
        }

        await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");
        await http.Response.Body.FlushAsync();
    }

    private static string Text(JsonNode? content) => content switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
        _ => string.Empty,
    };

    [GeneratedRegex("[0-9]{6}")]
    private static partial Regex SixDigits();
}
