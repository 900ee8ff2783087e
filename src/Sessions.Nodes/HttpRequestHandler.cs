using Sessions.Runtime.Errors;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Recordings;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Values;

namespace Sessions.Nodes;

/// <summary>
/// `http_request`: calls an HTTP API with templated method, URL, headers and body; retries transient failures with
/// Polly; stores the status code and mapped response fields in variables. Secrets (`{{secrets.NAME}}`) may be used in
/// the URL and headers only, and every place the call is recorded gets a rendering with them masked.
/// </summary>
public sealed partial class HttpRequestHandler(ISecretStore secrets, IHttpClientFactory clients) : INodeHandler
{
    private const string Mask = "***";
    private static readonly HashSet<string> Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

    /// <summary>The named client of <see cref="IHttpClientFactory"/> the node calls through (configured by AddSessionsNodes).</summary>
    public const string ClientName = "http_request";

    /// <summary>A called service's answer is read whole into memory, so it is bounded: a larger one fails the call.</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    public string NodeType => "http_request";

    public bool RunsAsStep(object? config) => true;

    public object? Compile(NodeSpec spec)
    {
        var method = (spec.String("method", required: false) ?? "GET").ToUpperInvariant();
        if (!Methods.Contains(method))
        {
            spec.Error("method", "invalid_value", $"\"method\" is one of: {string.Join(", ", Methods)}, not \"{ProblemText.Shorten(method)}\".");
        }

        var url = spec.Template("url", required: true);
        var headers = new List<(string Name, Template Value)>();
        if (spec.Json["headers"] is JsonObject headerObject)
        {
            foreach (var (name, value) in headerObject)
            {
                if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String && spec.CompileTemplate(v.GetValue<string>(), $"{spec.FieldPath("headers")}.{name}") is { } template)
                {
                    headers.Add((name, template));
                }
                else
                {
                    spec.Problems.Error($"{spec.FieldPath("headers")}.{name}", "invalid_type", "A header value is a string template.");
                }
            }
        }
        else if (spec.Json["headers"] is not null)
        {
            spec.Error("headers", "invalid_type", "\"headers\" is an object of header names and string templates.");
        }

        if (spec.Json["body"] is { } bodyNode && SecretReference().IsMatch(JsonText.Serialize(bodyNode)))
        {
            spec.Error("body", "secret_in_body", "Secrets may be used in the URL and headers only.");
        }

        var body = spec.Json.TryGetPropertyValue("body", out var bodyValue) && bodyValue is not null ? TemplatedJson.Compile(bodyValue, spec.FieldPath("body"), spec) : null;
        var response = new List<(string Variable, string Path)>();
        if (spec.Json["response"] is JsonObject mapping)
        {
            foreach (var (variable, path) in mapping)
            {
                if (AskHandler.VariableName().IsMatch(variable) && path is JsonValue p && p.GetValueKind() == JsonValueKind.String)
                {
                    response.Add((variable, p.GetValue<string>()));
                }
                else
                {
                    spec.Problems.Error($"{spec.FieldPath("response")}.{variable}", "invalid_mapping", "\"response\" maps variable names to paths in the JSON body, such as \"delivery.eta\" or \"$\".");
                }
            }
        }
        else if (spec.Json["response"] is not null)
        {
            spec.Problems.ErrorOnUpload(spec.FieldPath("response"), "invalid_type", "\"response\" is an object of variable names and paths in the JSON body, such as { \"eta\": \"delivery.eta\" }.");
        }

        var timeout = Seconds(spec, "timeout_seconds", 10);
        var retries = (int)Seconds(spec, "retries", 2, whole: true);
        var retryDelay = Seconds(spec, "retry_delay_seconds", 0.2);
        var statusVariable = spec.String("status_variable", required: false) ?? "http_status";
        if (!AskHandler.VariableName().IsMatch(statusVariable))
        {
            spec.Problems.ErrorOnUpload(spec.FieldPath("status_variable"), "invalid_variable", $"\"status_variable\" is a variable name of letters, digits and '_', not starting with a digit, not \"{ProblemText.Shorten(statusVariable)}\".");
        }

        var failOnErrorStatus = spec.Boolean("fail_on_error_status");

        var referenced = new[] { url?.Source ?? string.Empty }.Concat(headers.Select(h => h.Value.Source))
            .SelectMany(source => SecretReference().Matches(source).Select(m => m.Groups[1].Value)).Distinct().ToList();
        return new HttpConfig(method, url!, headers, body, response, statusVariable, failOnErrorStatus, referenced, retries, Pipeline(timeout, retries, retryDelay));
    }

    public async ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var config = context.Config<HttpConfig>();
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var name in config.Secrets)
        {
            values[name] = secrets.Get(context.TenantId, name)
                ?? throw new InvalidOperationException($"The secret '{name}' is not configured for this tenant.");
        }

        var real = new Dictionary<string, object?> { ["secrets"] = values };
        var masked = new Dictionary<string, object?> { ["secrets"] = values.ToDictionary(p => p.Key, _ => (object?)Mask) };
        var url = config.Url.Render(context.Variables, real);
        var shownUrl = config.Url.Render(context.Variables, masked);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return NodeResult.Fail($"\"{shownUrl}\" is not an absolute http or https URL.");
        }

        var body = config.Body?.Evaluate(context.Variables);

        // What the call sends, as kept with the turn and compared by a recorded replay: secrets by name, never by value.
        var named = new Dictionary<string, object?> { ["secrets"] = values.ToDictionary(p => p.Key, p => (object?)$"{{{{secrets.{p.Key}}}}}") };
        var sent = new JsonObject
        {
            ["method"] = config.Method,
            ["url"] = config.Url.Render(context.Variables, named),
            ["headers"] = new JsonObject(config.Headers.Select(h => KeyValuePair.Create(h.Name, (JsonNode?)h.Value.Render(context.Variables, named)))),
            ["body"] = config.Method is "GET" or "HEAD" ? null : body?.DeepClone(),
        };
        var answer = await context.Calls.CallAsync(context.Node.Id, RecordedCall.Http, sent, token => SendAsync(config, uri, body, context, real, values, token), cancellationToken);
        var attempts = answer["attempts"]!.GetValue<int>();
        if (answer["failed"] is { } failed)
        {
            return NodeResult.Fail(Masked($"{config.Method} {shownUrl} failed after {attempts} attempt(s): {failed.GetValue<string>()}", values));
        }

        var status = answer["status"]!.GetValue<int>();
        var text = answer["body"]!.GetValue<string>();
        var assignments = new Dictionary<string, JsonNode?>(StringComparer.Ordinal) { [config.StatusVariable] = status };
        JsonNode? json = null;
        try
        {
            json = text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
        }

        // A body whose text no store can keep (a NUL, a lone surrogate escape) is treated as one that is not JSON:
        // its values would fail the run's commit, or every read of it, later.
        if (JsonText.FindUnkeepable(json) is not null)
        {
            json = null;
        }

        foreach (var (variable, path) in config.Response)
        {
            assignments[variable] = Select(json, path)?.DeepClone();
        }

        var call = new HttpRequestMade(config.Method, shownUrl, status, attempts, answer["latency_ms"]!.GetValue<double>());

        // A node's status goes to a later branch; a step has none after it, so there an error status is a failure.
        if ((config.FailOnErrorStatus ?? context.IsStep) && status >= 400)
        {
            return NodeResult.Fail(Masked($"{config.Method} {shownUrl} answered {status} after {attempts} attempt(s)", values)).Emit(call);
        }

        return NodeResult.Next(context.Node.Next!).Assign(assignments).Emit(call);
    }

    /// <summary>
    /// The call itself, retried by the node's pipeline: its answer (status and body text) or how it failed, with the
    /// attempts it took and how long, as the JSON a turn keeps of it.
    /// </summary>
    private async Task<JsonObject> SendAsync(
        HttpConfig config, Uri uri, JsonNode? body, NodeContext context, Dictionary<string, object?> real, Dictionary<string, object?> values, CancellationToken cancellationToken)
    {
        var attempts = 0;
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await config.Pipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    using var request = new HttpRequestMessage(new HttpMethod(config.Method), uri);
                    foreach (var (name, value) in config.Headers)
                    {
                        request.Headers.TryAddWithoutValidation(name, value.Render(context.Variables, real));
                    }

                    if (body is not null && config.Method is not ("GET" or "HEAD"))
                    {
                        request.Content = body is JsonValue text && text.GetValueKind() == JsonValueKind.String
                            ? new StringContent(text.GetValue<string>(), Encoding.UTF8, "text/plain")
                            : new StringContent(JsonText.Serialize(body), Encoding.UTF8, "application/json");
                    }

                    return await clients.CreateClient(ClientName).SendAsync(request, token);
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = ex is TimeoutRejectedException ? "timed out" : ex.Message;
            return new JsonObject { ["failed"] = Masked(reason, values), ["attempts"] = attempts, ["latency_ms"] = Math.Round(clock.Elapsed.TotalMilliseconds, 1) };
        }

        using (response)
        {
            return new JsonObject
            {
                ["status"] = (int)response.StatusCode,
                ["body"] = await response.Content.ReadAsStringAsync(cancellationToken),
                ["attempts"] = attempts,
                ["latency_ms"] = Math.Round(clock.Elapsed.TotalMilliseconds, 1),
            };
        }
    }

    private static JsonNode? Select(JsonNode? json, string path)
    {
        if (path is "" or "$")
        {
            return json;
        }

        var current = json;
        foreach (var segment in path.TrimStart('$', '.').Split('.'))
        {
            current = current switch
            {
                JsonObject obj => obj[segment],
                JsonArray array when int.TryParse(segment, out var i) && i >= 0 && i < array.Count => array[i],
                _ => null,
            };
        }

        return current;
    }

    /// <summary>Errors can quote what they were given; a secret never reaches an event through one.</summary>
    private static string Masked(string text, Dictionary<string, object?> values) =>
        values.Values.OfType<string>().Where(v => v.Length > 0).Aggregate(text, (current, secret) => current.Replace(secret, Mask, StringComparison.Ordinal));

    /// <summary>Retries transport errors, timeouts and 408/429/5xx answers; each attempt has its own timeout.</summary>
    private static ResiliencePipeline<HttpResponseMessage> Pipeline(double timeoutSeconds, int retries, double delaySeconds)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retries,
                Delay = TimeSpan.FromSeconds(delaySeconds),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => r.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)r.StatusCode >= 500),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            });
        }

        return builder.AddTimeout(TimeSpan.FromSeconds(timeoutSeconds)).Build();
    }

    private static double Seconds(NodeSpec spec, string field, double fallback, bool whole = false)
    {
        if (spec.Json[field] is not { } node)
        {
            return fallback;
        }

        if (node is JsonValue v && v.TryGetValue<double>(out var value) && value >= 0 && value <= 3600 && (!whole || value == Math.Floor(value)) && (whole || value > 0))
        {
            return value;
        }

        spec.Error(field, "invalid_value", $"\"{field}\" is a {(whole ? "whole number from 0" : "number above 0")} up to 3600.");
        return fallback;
    }

    [GeneratedRegex(@"secrets\.([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex SecretReference();

    private sealed record HttpConfig(
        string Method,
        Template Url,
        IReadOnlyList<(string Name, Template Value)> Headers,
        TemplatedJson? Body,
        IReadOnlyList<(string Variable, string Path)> Response,
        string StatusVariable,
        bool? FailOnErrorStatus,
        IReadOnlyList<string> Secrets,
        int Retries,
        ResiliencePipeline<HttpResponseMessage> Pipeline);
}
