using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>The real server, in memory, on a real SQLite file in a temp folder that outlives the host when asked to.</summary>
public sealed class SessionsFactory : WebApplicationFactory<Program>
{
    public const string OrderStatus = "66a1f0000000000000000001";
    public const string SupportTicket = "66a1f0000000000000000002";
    public const string AppointmentBooking = "66a1f0000000000000000003";

    private readonly TempDirectory? ownedFolder;
    private readonly Dictionary<string, string?> settings;
    private readonly TimeProvider? clock;

    public SessionsFactory()
        : this(null, null)
    {
    }

    /// <param name="clock">The server's time, for tests that move it on instead of waiting for it; the real clock if null.</param>
    public SessionsFactory(string? databasePath, Dictionary<string, string?>? settings = null, TimeProvider? clock = null)
    {
        this.clock = clock;
        if (databasePath is null)
        {
            ownedFolder = new TempDirectory();
            databasePath = ownedFolder.File("sessions.db");
        }

        DatabasePath = databasePath;
        this.settings = settings ?? [];
    }

    public string DatabasePath { get; }

    /// <summary>Every log line the server wrote, at every level, for tests that check what logs must not contain.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Sessions:Sqlite:Path", DatabasePath);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.ConfigureLogging(logging => logging
            .AddProvider(new CollectingLoggerProvider(Logs))
            .AddFilter<CollectingLoggerProvider>(null, LogLevel.Trace));
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, SchemaCheckedUploads>());
        if (clock is not null)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(clock));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        ownedFolder?.Dispose();
    }
}

/// <summary>Keeps every log line (with its exception, and the scopes it was written in) in memory.</summary>
public sealed class CollectingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines, () => scopes);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines, Func<IExternalScopeProvider> scopes) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => scopes().Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var within = new StringBuilder();
            scopes().ForEachScope(
                (scope, text) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (var (key, value) in pairs)
                        {
                            text.Append(' ').Append(key).Append('=').Append(value);
                        }
                    }
                },
                within);
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception} [scopes:{within}]");
        }
    }
}

/// <summary>Small helpers for talking JSON to the server.</summary>
public static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> ExecuteAsync(this HttpClient client, string workflowId, object body, string? query = null) =>
        client.PostAsync($"/v1/workflows/{workflowId}/execute{query}", Json(JsonSerializer.Serialize(body)));

    /// <summary>The answer as an object. Answers may nest values a few levels deeper than a body may (their envelopes).</summary>
    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync(), documentOptions: new JsonDocumentOptions { MaxDepth = 256 })!.AsObject();

    /// <summary>Uploads a workflow definition and returns its id.</summary>
    public static async Task<string> UploadAsync(this HttpClient client, string definition)
    {
        var response = await client.PostAsync("/v1/workflows", Json(definition));
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["workflow_id"]!.GetValue<string>();
    }

    public static Task<HttpResponseMessage> ExecuteWithKeyAsync(this HttpClient client, string workflowId, string key, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute") { Content = Json(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    /// <summary>Starts a run and returns its first answer.</summary>
    public static async Task<JsonObject> StartAsync(this HttpClient client, string workflowId, object? runInput = null)
    {
        var response = await client.ExecuteAsync(workflowId, new { run_input = runInput ?? new { } });
        response.EnsureSuccessStatusCode();
        return await response.ReadObjectAsync();
    }

    public static async Task<JsonObject> ReplyAsync(this HttpClient client, string workflowId, string runId, string message)
    {
        var response = await client.ExecuteAsync(workflowId, new { run_id = runId, run_input = new { user_message = message } });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.ReadObjectAsync();
    }
}
