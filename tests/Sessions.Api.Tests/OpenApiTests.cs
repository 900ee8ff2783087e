using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

/// <summary>The server's OpenAPI document, fetched once for the tests below.</summary>
public sealed class OpenApiDocument : IAsyncLifetime
{
    private readonly SessionsFactory factory = new();

    public JsonObject Json { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Json = JsonNode.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json"))!.AsObject();

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
    public void Every_endpoint_is_described_with_its_error_responses(string path, string method, string statuses)
    {
        var operation = document["paths"]![path]![method]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()));
        var responses = operation["responses"]!.AsObject();
        foreach (var status in statuses.Split(' '))
        {
            Assert.True(responses.ContainsKey(status), $"{method} {path} does not describe {status}");
            if (status[0] is '4' or '5')
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
}
