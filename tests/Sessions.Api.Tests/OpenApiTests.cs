using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Tests;

/// <summary>The server's OpenAPI document, fetched once for the tests below.</summary>
public sealed class OpenApiDocument : IAsyncLifetime
{
    private readonly SessionsFactory factory = new();

    public JsonObject Json { get; private set; } = null!;

    public string Text { get; private set; } = null!;

    public SessionsFactory Factory => factory;

    public async Task InitializeAsync()
    {
        Text = await factory.CreateClient().GetStringAsync("/openapi/v1.json");
        Json = JsonNode.Parse(Text)!.AsObject();
    }

    public Task DisposeAsync()
    {
        factory.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class OpenApiTests(OpenApiDocument openApi) : IClassFixture<OpenApiDocument>
{
    private readonly JsonObject document = openApi.Json;

    [Theory]
    [InlineData("/v1/workflows", "post", "201 400 413 422")]
    [InlineData("/v1/workflows", "get", "200 400")]
    [InlineData("/v1/workflows/{workflow_id}", "get", "200 400 404")]
    [InlineData("/v1/workflows/{workflow_id}/versions", "post", "201 400 404 413 422")]
    [InlineData("/v1/workflows/{workflow_id}/versions/{version_number}", "get", "200 400 404")]
    [InlineData("/v1/workflows/{workflow_id}/execute", "post", "200 400 404 409 413 422")]
    [InlineData("/v1/runs", "get", "200 400")]
    [InlineData("/v1/runs/stats", "get", "200 400")]
    [InlineData("/v1/runs/{run_id}", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/events", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/transcript", "get", "200 400 404")]
    [InlineData("/v1/runs/cancel", "post", "200 400 404 413")]
    [InlineData("/v1/runs/{run_id}/fork", "post", "201 400 404 409 413 422")]
    [InlineData("/v1/runs/{run_id}/replay", "post", "201 400 404 413 422")]
    [InlineData("/v1/workflows/{workflow_id}/execute/stream", "post", "200 400 404 409 413 422")]
    [InlineData("/v1/runs/{run_id}/events/stream", "get", "200 400 404")]
    [InlineData("/v1/workflows/{workflow_id}/runs", "get", "200 400 404")]
    [InlineData("/v1/workflows/{workflow_id}/runs/stats", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/turns", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/turns/{turn_number}", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/webhook-deliveries", "get", "200 400 404")]
    [InlineData("/v1/runs/{run_id}/webhook-deliveries/{delivery_id}/redeliver", "post", "202 400 404")]
    [InlineData("/health", "get", "200 503")]
    [InlineData("/alive", "get", "200")]
    public void Every_endpoint_is_described_with_its_error_responses(string path, string method, string statuses)
    {
        var operation = document["paths"]![path]![method]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()));
        var responses = operation["responses"]!.AsObject();
        foreach (var status in statuses.Split(' '))
        {
            Assert.True(responses.ContainsKey(status), $"{method} {path} does not describe {status}");
            if (status[0] is '4' or '5' && !path.StartsWith("/health", StringComparison.Ordinal))
            {
                Assert.NotNull(responses[status]!["content"]!["application/problem+json"]);
            }
        }
    }

    [Fact]
    public void The_execute_request_and_response_schemas_use_the_wire_names()
    {
        var schemas = document["components"]!["schemas"]!.AsObject();
        var response = schemas["ExecuteResponse"]!["properties"]!.AsObject();
        Assert.Equal(
            ["run_id", "status", "turn_number", "events", "is_waiting_for_input", "is_completed", "error", "next_input_hint"],
            response.Select(p => p.Key));
        var request = document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>();
        Assert.EndsWith("/ExecuteRequest", request);
        Assert.Contains("user_message", schemas["RunInput"]!["properties"]!.AsObject().Select(p => p.Key));
        var statuses = schemas["RunStatus"]!["enum"]!.AsArray().Select(s => s!.GetValue<string>());
        Assert.Contains("aborted_looping_risk", statuses);
        Assert.Contains("waiting_for_user_input", statuses);
    }

    [Fact]
    public void Hand_parsed_parameters_keep_their_real_types()
    {
        var execute = document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["parameters"]!.AsArray();
        Assert.Equal("^[0-9a-f]{24}$", execute.Single(p => p!["name"]!.GetValue<string>() == "workflow_id")!["schema"]!["pattern"]!.GetValue<string>());
        var version = execute.Single(p => p!["name"]!.GetValue<string>() == "version_number")!["schema"]!;
        Assert.Equal(("integer", 0), (version["type"]!.GetValue<string>(), version["minimum"]!.GetValue<int>()));
        var seq = document["components"]!["schemas"]!["EventContract"]!["properties"]!["seq"]!;
        Assert.Equal("integer", seq["type"]!.GetValue<string>());
    }

    [Fact]
    public void The_document_reads_cleanly_and_declares_every_endpoint_the_server_maps()
    {
        var read = Microsoft.OpenApi.OpenApiDocument.Parse(openApi.Text, "json");
        Assert.NotNull(read.Document);
        Assert.Empty(read.Diagnostic?.Errors ?? []);

        var declared = read.Document!.Paths
            .SelectMany(p => p.Value.Operations!.Keys.Select(method => $"{method.Method.ToUpperInvariant()} {p.Key}"))
            .ToHashSet();
        var mapped = openApi.Factory.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>()?.ExcludeFromDescription != true)
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/openapi", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? []).Select(method => $"{method} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        Assert.NotEmpty(mapped);
        Assert.Empty(mapped.Except(declared));
        Assert.Empty(declared.Except(mapped));
    }

    [Fact]
    public void Every_body_may_be_refused_as_415_and_hand_read_headers_are_declared()
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (operation!["requestBody"] is not null)
                {
                    Assert.True(operation["responses"]!.AsObject().ContainsKey("415"), $"{method} {path} does not describe 415");
                }
            }
        }

        string[] HeadersOf(string path, string method) =>
            document["paths"]![path]![method]!["parameters"]!.AsArray().Where(p => p!["in"]!.GetValue<string>() == "header").Select(p => p!["name"]!.GetValue<string>()).ToArray();
        Assert.Contains("Idempotency-Key", HeadersOf("/v1/workflows/{workflow_id}/execute", "post"));
        Assert.Contains("Prefer", HeadersOf("/v1/workflows/{workflow_id}/execute", "post"));

        // A background turn's 202 and its join are part of the contract, with their shapes.
        var execute = document["paths"]!["/v1/workflows/{workflow_id}/execute"]!["post"]!["responses"]!.AsObject();
        Assert.True(execute.ContainsKey("202"));
        var join = document["paths"]!["/v1/runs/{run_id}/turns/{turn_number}/result"]!["get"]!;
        Assert.True(join["responses"]!.AsObject().ContainsKey("200") && join["responses"]!.AsObject().ContainsKey("202"));
        Assert.Contains(join["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "wait_seconds");
        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.Equal(["run_id", "status", "turn_number", "message", "progress"], schemas["BackgroundTurnResponse"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.True(schemas["RunInput"]!["properties"]!.AsObject().ContainsKey("on_busy"));
        Assert.Contains("Idempotency-Key", HeadersOf("/v1/workflows/{workflow_id}/execute/stream", "post"));
        Assert.Contains("Last-Event-ID", HeadersOf("/v1/runs/{run_id}/events/stream", "get"));
    }

    [Fact]
    public void Every_problem_code_is_in_the_document_and_in_the_protocol_references_error_table()
    {
        var codes = Sessions.Runtime.Errors.ProblemCodes.All;
        var documented = document["components"]!["schemas"]!["ProblemCode"]!["enum"]!.AsArray().Select(c => c!.GetValue<string>()).ToHashSet();
        Assert.Empty(codes.Except(documented));

        var reference = File.ReadAllLines(Path.Combine(Repository.Root, "docs", "protocol.md"));
        var table = string.Join("\n", reference.Where(line => System.Text.RegularExpressions.Regex.IsMatch(line, @"^\| [45]\d\d \|")));
        var missing = codes.Where(code => !table.Contains($"`{code}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "Not in the error table of docs/protocol.md: " + string.Join(", ", missing));
    }

    private static string Normalize(string pattern) => "/" + pattern.Trim('/');
}
