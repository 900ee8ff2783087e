using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Sessions.Runtime.Telemetry;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// What an operator sees through OpenTelemetry: a turn's span (`sessions.turn`) under the request that took it, its
/// nodes and its commit as children, the `sessions.turns` and `sessions.turn.duration` instruments, an incoming
/// `traceparent` honoured; and the real export, over OTLP/HTTP to a receiver on loopback, from the server process
/// configured only by the standard variables. The `Sessions` source and meter are the process's, so these tests run
/// alone (<see cref="TelemetryCollection"/>): another test's turns would be heard too.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests : IAsyncDisposable
{
    private const string Greeter = """
        { "name": "Greeter", "start": "hello", "nodes": [
          { "id": "hello", "type": "say", "text": "Hello", "next": "ask" },
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "input": { "kind": "text", "pattern": "^[A-Z][a-z]+$" }, "next": "bye" },
          { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
          { "id": "done", "type": "end" } ] }
        """;

    private readonly List<Activity> spans = [];
    private readonly List<Metric> metrics = [];
    private readonly SessionsFactory factory = new();
    private readonly Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> traced;

    public TelemetryTests()
    {
        traced = Traced(factory, spans, metrics);
    }

    /// <summary>
    /// The server with the `Sessions` spans (under ASP.NET Core's request spans, with HttpClient's calls) and meter read
    /// by the in-memory exporter into <paramref name="spans"/> and <paramref name="metrics"/>.
    /// </summary>
    private static Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Traced(SessionsFactory server, List<Activity> spans, List<Metric> metrics) =>
        server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services => services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(SessionsTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddInMemoryExporter(spans))
            .WithMetrics(meters => meters.AddMeter(SessionsTelemetry.Name).AddInMemoryExporter(metrics))));

    [Fact]
    public async Task A_turn_is_one_span_under_its_request_with_its_nodes_and_commit_and_is_counted()
    {
        var client = traced.CreateClient();
        var workflowId = await client.UploadAsync(Greeter);
        var started = await client.StartAsync(workflowId);
        var runId = started["run_id"]!.GetValue<string>();

        // An incoming traceparent is honoured: the reply's turn is in the caller's trace.
        var callerTrace = ActivityTraceId.CreateRandom();
        using var reply = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute")
        {
            Content = Http.Json($$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"Ada"}}"""),
        };
        reply.Headers.Add("traceparent", $"00-{callerTrace}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(reply)).StatusCode);
        await client.PostAsync($"/v1/workflows/{workflowId}/execute", Http.Json($$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"lowercase"}}"""));

        FlushAll();
        var turns = spans.Where(s => s.OperationName == SessionsTelemetry.TurnSpan && (string?)s.GetTagItem(SessionsTelemetry.WorkflowId) == workflowId).ToList();
        Assert.Equal(3, turns.Count);
        var first = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.Trigger) == "start");
        Assert.Equal("default", first.GetTagItem(SessionsTelemetry.Tenant));
        Assert.Equal(workflowId, first.GetTagItem(SessionsTelemetry.WorkflowId));
        Assert.Equal(runId, first.GetTagItem(SessionsTelemetry.RunId));
        Assert.Equal(1, first.GetTagItem(SessionsTelemetry.TurnNumber));
        var stored = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(stored["version_number"]!.GetValue<int>(), first.GetTagItem(SessionsTelemetry.WorkflowVersion));
        Assert.Equal("waiting_for_user_input", first.GetTagItem(SessionsTelemetry.RunStatus));
        Assert.Equal("applied", first.GetTagItem(SessionsTelemetry.Outcome));

        // Under the request that took it; its nodes and its commit under it.
        var request = spans.Single(s => s.SpanId == first.ParentSpanId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        var children = spans.Where(s => s.ParentSpanId == first.SpanId).ToList();
        Assert.Equal(["hello", "ask"], children.Where(c => c.OperationName == SessionsTelemetry.NodeSpan).Select(c => (string)c.GetTagItem(SessionsTelemetry.NodeId)!));
        Assert.Equal("say", children.First(c => c.OperationName == SessionsTelemetry.NodeSpan).GetTagItem(SessionsTelemetry.NodeType));
        Assert.Equal("sqlite", children.Single(c => c.OperationName == SessionsTelemetry.CommitSpan).GetTagItem(SessionsTelemetry.DbSystem));

        var answered = turns.Single(t => t.TraceId == callerTrace);
        Assert.Equal("reply", answered.GetTagItem(SessionsTelemetry.Trigger));
        Assert.Equal("completed", answered.GetTagItem(SessionsTelemetry.RunStatus));
        Assert.Equal(ActivityStatusCode.Unset, answered.Status);

        // A reply that does not fit is refused: the span says so, and the run is as it was.
        var refused = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.Outcome) == "refused");
        Assert.Equal(ActivityStatusCode.Error, refused.Status);

        var counted = Points("sessions.turns");
        Assert.Equal(1, counted.Where(p => Tag(p, SessionsTelemetry.Trigger) == "start" && Tag(p, SessionsTelemetry.RunStatus) == "waiting_for_user_input").Sum(p => p.GetSumLong()));
        Assert.Equal(1, counted.Where(p => Tag(p, SessionsTelemetry.Trigger) == "reply" && Tag(p, SessionsTelemetry.Outcome) == "applied").Sum(p => p.GetSumLong()));
        Assert.Equal(1, counted.Where(p => Tag(p, SessionsTelemetry.Outcome) == "refused").Sum(p => p.GetSumLong()));
        Assert.Equal(3, Points("sessions.turn.duration").Sum(p => p.GetHistogramCount()));
    }

    [Fact]
    public async Task A_model_call_is_a_genai_client_span_under_its_node_that_carries_the_trace_and_a_webhook_delivery_is_a_span_too()
    {
        await using var model = await LoopbackOpenAi.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync("whsec_telemetry");
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var logged = new SessionsFactory(null, new()
        {
            ["Sessions:Llm:Configs:default:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:default:Model"] = "big-model",
            ["Sessions:Webhooks:AllowPrivateNetworks"] = "true",
            ["Sessions:Webhooks:PollMilliseconds"] = "100",
        });
        await using var server = Traced(logged, spans, metrics);
        var client = server.CreateClient();
        var workflowId = await client.UploadAsync("""
            { "name": "Chat", "start": "chat", "nodes": [
              { "id": "chat", "type": "llm", "mode": "say", "llm_config": "default", "messages": [ { "role": "user", "content": "a secret prompt" } ], "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var runId = (await (await client.ExecuteAsync(workflowId, new { run_input = new { webhook_url = $"{receiver.Address}hook" } })).ReadObjectAsync())["run_id"]!.GetValue<string>();
        // The receiver sees the request before the server has recorded the attempt: wait for the delivery's span to end
        // (its duration is recorded just before), flushing as it goes.
        await Eventually.TrueAsync(
            () =>
            {
                server.Services.GetRequiredService<TracerProvider>().ForceFlush();
                server.Services.GetRequiredService<MeterProvider>().ForceFlush();
                return Task.FromResult(!receiver.Requests.IsEmpty && spans.Any(s => s.OperationName == SessionsTelemetry.WebhookSpan));
            },
            "the webhook was delivered and its attempt recorded");
        server.Services.GetRequiredService<MeterProvider>().ForceFlush();

        var call = spans.Single(s => s.OperationName == "chat big-model");
        Assert.Equal(ActivityKind.Client, call.Kind);
        Assert.Equal("chat", call.GetTagItem(SessionsTelemetry.GenAiOperation));
        Assert.Equal("big-model", call.GetTagItem(SessionsTelemetry.GenAiRequestModel));
        Assert.Equal("big-model", call.GetTagItem(SessionsTelemetry.GenAiResponseModel));
        Assert.True((int)call.GetTagItem(SessionsTelemetry.GenAiOutputTokens)! > 0);
        Assert.DoesNotContain(call.TagObjects, t => t.Value?.ToString()?.Contains("a secret prompt", StringComparison.Ordinal) == true);
        var node = spans.Single(s => s.SpanId == call.ParentSpanId);
        Assert.Equal("chat", node.GetTagItem(SessionsTelemetry.NodeId));

        // The model server got the turn's trace: its request's traceparent is in the turn's trace, under the call.
        var traceparent = Assert.Single(model.TraceParents);
        Assert.StartsWith($"00-{call.TraceId}-", traceparent, StringComparison.Ordinal);

        // The delivery belongs to the turn's trace, under the turn: one trace from the request to the receiver.
        var delivery = spans.Single(s => s.OperationName == SessionsTelemetry.WebhookSpan);
        var turn = spans.Single(s => s.SpanId == node.ParentSpanId);
        Assert.Equal(SessionsTelemetry.TurnSpan, turn.OperationName);
        Assert.Equal((turn.TraceId, turn.SpanId), (delivery.TraceId, delivery.ParentSpanId));
        Assert.Equal(receiver.Requests.First().Id, delivery.GetTagItem(SessionsTelemetry.WebhookId));
        Assert.StartsWith($"00-{delivery.TraceId}-", receiver.TraceParents.First(), StringComparison.Ordinal);
        Assert.Contains(metrics, m => m.Name == "gen_ai.client.token.usage");

        // A line logged inside the turn (the model call's HttpClient) says which turn, and which trace, it belongs to.
        var line = logged.Logs.First(l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal) && l.Contains("Sending HTTP request", StringComparison.Ordinal));
        Assert.Contains($"run_id={runId}", line, StringComparison.Ordinal);
        Assert.Contains("turn_number=1", line, StringComparison.Ordinal);
        Assert.Contains($"TraceId={call.TraceId}", line, StringComparison.Ordinal);
        Assert.Contains(metrics, m => m.Name == "sessions.webhook.delivery.duration");
    }

    [Fact]
    public async Task Work_left_for_later_links_to_the_trace_that_left_it_and_a_called_service_continues_the_turns_trace()
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var settings = new SessionsFactory(null, new()
        {
            ["Sessions:Workers:PollMilliseconds"] = "100",
            ["Sessions:Telemetry:GaugeSeconds"] = "1",
        });
        await using var server = Traced(settings, spans, metrics);
        var client = server.CreateClient();
        var timed = await client.UploadAsync("""
            { "name": "Timed", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Order?", "variable": "order", "timeout_seconds": 1, "on_timeout": "nudge", "next": "done" },
              { "id": "nudge", "type": "say", "text": "Still there?", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var held = await client.UploadAsync($$$"""
            { "name": "Held", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Gate?", "variable": "gate", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/{{gate}}", "timeout_seconds": 30, "next": "ask" } ] }
            """);

        // A timer: its turn is a trace of its own, linked to the turn that set the timer.
        var timedRun = (await client.StartAsync(timed))["run_id"]!.GetValue<string>();
        await Eventually.TrueAsync(
            async () => (await (await client.GetAsync($"/v1/runs/{timedRun}")).ReadObjectAsync())["status"]!.GetValue<string>() == "completed",
            "the timer fired");

        // A background turn: linked to the request that queued it; its http_request node sends the turn's trace on.
        var heldRun = (await client.StartAsync(held))["run_id"]!.GetValue<string>();
        using (var queue = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{held}/execute")
        {
            Content = Http.Json($$$"""{"run_id":"{{{heldRun}}}","run_input":{"user_message":"bg"}}"""),
        })
        {
            queue.Headers.Add("Prefer", "respond-async");
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(queue)).StatusCode);
        }

        await api.Gate("bg").Arrived;

        // A reply that waits in line for the background turn: its wait is a span.
        var waiting = client.PostAsync($"/v1/workflows/{held}/execute", Http.Json($$$"""{"run_id":"{{{heldRun}}}","run_input":{"user_message":"fg","on_busy":"enqueue"}}"""));
        await Task.Delay(300);
        api.Gate("bg").Open();
        await api.Gate("fg").Arrived;
        api.Gate("fg").Open();
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode);

        // The gauges: the run waiting for a reply, counted by workflow.
        await Eventually.TrueAsync(
            () =>
            {
                server.Services.GetRequiredService<MeterProvider>().ForceFlush();
                return Task.FromResult(LastGauge(metrics, "sessions.runs.waiting", SessionsTelemetry.WorkflowId, held) == 1);
            },
            "the waiting run counted");
        Assert.NotNull(LastGauge(metrics, "sessions.work.due", SessionsTelemetry.WorkKind, "webhook"));
        server.Services.GetRequiredService<TracerProvider>().ForceFlush();

        var turns = spans.Where(s => s.OperationName == SessionsTelemetry.TurnSpan).ToList();
        var setter = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.RunId) == timedRun && (string?)t.GetTagItem(SessionsTelemetry.Trigger) == "start");
        var fired = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.RunId) == timedRun && (string?)t.GetTagItem(SessionsTelemetry.Trigger) == "timer");
        Assert.NotEqual(setter.TraceId, fired.TraceId);
        Assert.Equal(default, fired.ParentSpanId);
        Assert.Equal(setter.TraceId, Assert.Single(fired.Links).Context.TraceId);
        Assert.Contains(metrics, m => m.Name == "sessions.timer.lag");

        var background = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.RunId) == heldRun && (int?)t.GetTagItem(SessionsTelemetry.TurnNumber) == 2);
        var accepting = spans.Single(s => s.Kind == ActivityKind.Server && s.TraceId == Assert.Single(background.Links).Context.TraceId && s.GetTagItem("http.request.method") as string == "POST");
        Assert.NotEqual(accepting.TraceId, background.TraceId);
        var call = spans.Single(s => s.OperationName == SessionsTelemetry.NodeSpan && s.TraceId == background.TraceId && (string?)s.GetTagItem(SessionsTelemetry.NodeId) == "call");
        Assert.StartsWith($"00-{background.TraceId}-", api.SeenTraceParents["bg"], StringComparison.Ordinal);
        Assert.Contains(spans, s => s.Kind == ActivityKind.Client && s.ParentSpanId == call.SpanId);

        var enqueued = turns.Single(t => (string?)t.GetTagItem(SessionsTelemetry.RunId) == heldRun && (int?)t.GetTagItem(SessionsTelemetry.TurnNumber) == 3);
        var wait = spans.Single(s => s.OperationName == SessionsTelemetry.LeaseWaitSpan);
        Assert.Equal(enqueued.SpanId, wait.ParentSpanId);
        Assert.True(wait.Duration > TimeSpan.FromMilliseconds(200), $"waited {wait.Duration}");
        Assert.StartsWith($"00-{enqueued.TraceId}-", api.SeenTraceParents["fg"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_calls_messages_are_on_its_span_only_when_the_operator_asks()
    {
        await using var model = await LoopbackOpenAi.StartAsync();
        var spans = new List<Activity>();
        await using var settings = new SessionsFactory(null, new()
        {
            ["Sessions:Llm:Configs:default:BaseUrl"] = model.BaseUrl,
            ["Sessions:Llm:Configs:default:Model"] = "big-model",
            ["Sessions:Llm:Configs:default:ApiKeySecret"] = "model_key",
            ["Sessions:Secrets:default:model_key"] = "sk-never-in-a-span",
            ["Sessions:Telemetry:RecordContent"] = "true",
        });
        await using var server = Traced(settings, spans, []);
        var client = server.CreateClient();
        var workflowId = await client.UploadAsync("""
            { "name": "Chat", "start": "chat", "nodes": [
              { "id": "chat", "type": "llm", "mode": "say", "llm_config": "default", "messages": [ { "role": "user", "content": "what is recorded" } ], "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        await client.StartAsync(workflowId);
        server.Services.GetRequiredService<TracerProvider>().ForceFlush();

        var call = spans.Single(s => s.OperationName == "chat big-model");
        var input = System.Text.Json.Nodes.JsonNode.Parse((string)call.GetTagItem(SessionsTelemetry.GenAiInputMessages)!)!;
        Assert.Equal("user", input[0]!["role"]!.GetValue<string>());
        Assert.Equal("what is recorded", input[0]!["parts"]![0]!["content"]!.GetValue<string>());
        var output = System.Text.Json.Nodes.JsonNode.Parse((string)call.GetTagItem(SessionsTelemetry.GenAiOutputMessages)!)!;
        Assert.Equal("assistant", output[0]!["role"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(output[0]!["parts"]![0]!["content"]!.GetValue<string>()));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value?.ToString()?.Contains("sk-never-in-a-span", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Prometheus_scrapes_the_metrics_at_metrics_when_turned_on_and_only_admins_may()
    {
        await using var server = new SessionsFactory(null, AuthTests.Settings(("Sessions:Telemetry:Prometheus", "true")));
        HttpClient As(string key)
        {
            var client = server.CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            return client;
        }

        var editor = As("acme-editor-key-0123456789");
        await editor.StartAsync(await editor.UploadAsync(Greeter));

        var scraped = await As("acme-admin-key-0123456789").GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.StartsWith("text/plain", scraped.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        var text = await scraped.Content.ReadAsStringAsync();
        Assert.Contains("sessions_turns_total{", text, StringComparison.Ordinal);
        Assert.Contains("sessions_turn_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.CreateClient().GetAsync("/metrics")).StatusCode);

        // Off unless turned on.
        Assert.Equal(HttpStatusCode.NotFound, (await factory.CreateClient().GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task The_server_exports_its_turns_and_metrics_over_otlp_http_configured_by_the_standard_variables()
    {
        using var receiver = new OtlpReceiver();
        using var folder = new TempDirectory();
        await using var server = await ServerProcess.StartAsync(
            folder.File("sessions.db"),
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={receiver.Address}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_SERVICE_NAME=sessions-under-test",
            "--OTEL_BSP_SCHEDULE_DELAY=200",
            "--OTEL_METRIC_EXPORT_INTERVAL=500");
        var workflowId = await server.Client.UploadAsync(Greeter);
        await server.Client.StartAsync(workflowId);

        // The exports are protobuf: a span's name is its field 5, a metric's its field 1, each a length-prefixed string.
        await Eventually.TrueAsync(() => Task.FromResult(receiver.Received("/v1/traces", 5, SessionsTelemetry.TurnSpan) && receiver.Received("/v1/traces", 1, "sessions-under-test")), "the turn's span exported");
        await Eventually.TrueAsync(() => Task.FromResult(receiver.Received("/v1/metrics", 1, "sessions.turns")), "the turn counter exported");
        Assert.True(receiver.Received("/v1/traces", 5, SessionsTelemetry.NodeSpan));
        Assert.True(receiver.Received("/v1/traces", 1, workflowId));
    }

    private void FlushAll()
    {
        traced.Services.GetRequiredService<TracerProvider>().ForceFlush();
        traced.Services.GetRequiredService<MeterProvider>().ForceFlush();
    }

    private List<MetricPoint> Points(string name)
    {
        var points = new List<MetricPoint>();
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                points.Add(point);
            }
        }

        return points;
    }

    /// <summary>The last exported value of a gauge's point whose tag <paramref name="tag"/> is <paramref name="value"/>; null when none was.</summary>
    private static long? LastGauge(List<Metric> exported, string name, string tag, string value)
    {
        long? last = null;
        foreach (var metric in exported.ToList().Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Tag(point, tag) == value)
                {
                    last = point.GetGaugeLastValueLong();
                }
            }
        }

        return last;
    }

    private static string? Tag(MetricPoint point, string name)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == name)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await traced.DisposeAsync();
        await factory.DisposeAsync();
    }

    /// <summary>An OTLP/HTTP collector on loopback, standing in for the one a deployment sends to: it keeps what arrives.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly LoopbackHttp http;
        private readonly List<(string Path, byte[] Body)> received = [];

        public OtlpReceiver() => http = new LoopbackHttp(KeepAsync);

        public string Address => http.Address;

        /// <summary>Whether a body sent to <paramref name="path"/> holds <paramref name="text"/> as protobuf field <paramref name="field"/>.</summary>
        public bool Received(string path, int field, string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            bytes = [(byte)((field << 3) | 2), (byte)bytes.Length, .. bytes];
            lock (received)
            {
                return received.Any(r => r.Path == path && r.Body.AsSpan().IndexOf(bytes) >= 0);
            }
        }

        private async Task KeepAsync(HttpListenerContext context)
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            lock (received)
            {
                received.Add((context.Request.Url!.AbsolutePath, body.ToArray()));
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
        }

        public void Dispose() => http.Dispose();
    }
}

/// <summary>Tests that listen to the process-wide `Sessions` source and meter: run after the others, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry";
}
