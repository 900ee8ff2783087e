using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Client.Tests;

/// <summary>
/// The client held to the server's OpenAPI document, read from the running server: every `/v1` endpoint has a client
/// method (and every client method an endpoint), every field of every schema a `/v1` endpoint takes or answers has a
/// property on the model that stands for it, and every problem code is in <see cref="ProblemCodes"/>. A field, an
/// endpoint or a code added to the server without the client fails here.
/// </summary>
public sealed class OpenApiCoverageTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>`/v1` endpoints that belong to another protocol, which its own client speaks.</summary>
    private static readonly string[] OtherProtocols =
    [
        "POST /v1/workflows/{workflow_id}/chat", // the AI SDK's UI message stream: useChat is its client
        "GET /v1/workflows/{workflow_id}/chat/{chat_id}/stream",
    ];

    /// <summary>Schemas the client takes as JSON on purpose.</summary>
    private static readonly string[] AsJson =
    [
        "WorkflowDefinitionContract", "NodeContract", "LimitsContract", // a definition is the JSON its author wrote (JsonNode)
        "JsonElement", "JsonNode", "JsonObject", "ProblemDetails", "ProblemCode", "RunStatus",
        "CallSource", "ChangedCallPolicy", // string enums, read as their wire names
    ];

    private JsonNode? document;

    private async Task<JsonNode> DocumentAsync() =>
        document ??= JsonNode.Parse(await fixture.Server.Client.GetStringAsync("/openapi/v1.json"))!;

    [Fact]
    public async Task Every_v1_endpoint_has_a_client_method_and_every_client_method_an_endpoint()
    {
        var documented = (await DocumentAsync())["paths"]!.AsObject()
            .Where(path => path.Key.StartsWith("/v1/", StringComparison.Ordinal))
            .SelectMany(path => path.Value!.AsObject().Where(op => op.Key is "get" or "post" or "put" or "patch" or "delete").Select(op => $"{op.Key.ToUpperInvariant()} {path.Key}"))
            .Except(OtherProtocols)
            .ToHashSet();
        var covered = typeof(SessionsClient).GetMethods()
            .SelectMany(m => m.GetCustomAttributes<EndpointAttribute>())
            .Select(e => $"{e.Method} {e.Path}")
            .ToHashSet();

        Assert.Empty(documented.Except(covered).Order(StringComparer.Ordinal));
        Assert.Empty(covered.Except(documented).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_field_of_every_schema_the_v1_endpoints_use_is_a_property_of_its_model()
    {
        var doc = await DocumentAsync();
        var schemas = doc["components"]!["schemas"]!.AsObject();
        var models = typeof(SessionsClient).Assembly.GetTypes()
            .Select(t => (Type: t, Schema: t.GetCustomAttribute<WireSchemaAttribute>()?.Name))
            .Where(m => m.Schema is not null)
            .ToDictionary(m => m.Schema!, m => m.Type);

        var used = UsedSchemas(doc).Except(AsJson).ToHashSet();
        Assert.Empty(used.Where(name => !models.ContainsKey(name)).Order(StringComparer.Ordinal));

        var missing = new List<string>();
        foreach (var (schema, type) in models)
        {
            Assert.True(schemas.ContainsKey(schema), $"{type.Name} stands for {schema}, which the document does not have");
            var fields = schemas[schema]!["properties"]?.AsObject().Select(p => p.Key) ?? [];
            var properties = WireNames(type);
            missing.AddRange(fields.Where(f => !properties.Contains(f)).Select(f => $"{schema}.{f} ({type.Name})"));
        }

        Assert.Empty(missing);
    }

    [Fact]
    public async Task Every_problem_code_the_server_answers_is_in_ProblemCodes()
    {
        var codes = (await DocumentAsync())["components"]!["schemas"]!["ProblemCode"]!["enum"]!.AsArray().Select(c => c!.GetValue<string>()).ToHashSet();
        var known = typeof(ProblemCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!).ToHashSet();

        Assert.NotEmpty(codes);
        Assert.Empty(codes.Except(known).Order(StringComparer.Ordinal));
        Assert.Empty(known.Except(codes).Order(StringComparer.Ordinal));
    }

    /// <summary>The schemas `/v1` endpoints take or answer (2xx), and those they refer to, transitively.</summary>
    private static HashSet<string> UsedSchemas(JsonNode doc)
    {
        var used = new HashSet<string>();
        var pending = new Stack<JsonNode>();
        foreach (var (path, operations) in doc["paths"]!.AsObject())
        {
            if (!path.StartsWith("/v1/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (method, operation) in operations!.AsObject())
            {
                if (OtherProtocols.Contains($"{method.ToUpperInvariant()} {path}") || operation is not JsonObject op)
                {
                    continue;
                }

                if (op["requestBody"] is { } body)
                {
                    pending.Push(body);
                }

                foreach (var (status, response) in op["responses"]?.AsObject() ?? [])
                {
                    if (status.StartsWith('2') && response is not null)
                    {
                        pending.Push(response);
                    }
                }
            }
        }

        var schemas = doc["components"]!["schemas"]!.AsObject();
        while (pending.TryPop(out var node))
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var (key, value) in obj)
                    {
                        if (key == "$ref" && value?.GetValue<string>() is { } reference && reference.StartsWith("#/components/schemas/", StringComparison.Ordinal))
                        {
                            var name = reference["#/components/schemas/".Length..];
                            if (used.Add(name) && schemas[name] is { } schema)
                            {
                                pending.Push(schema);
                            }
                        }
                        else if (value is not null)
                        {
                            pending.Push(value);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        if (item is not null)
                        {
                            pending.Push(item);
                        }
                    }

                    break;
            }
        }

        return used;
    }

    /// <summary>The names a model's properties have on the wire (an extension-data model takes every name).</summary>
    private static HashSet<string> WireNames(Type type) =>
        type.GetProperties()
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null && p.GetCustomAttribute<JsonExtensionDataAttribute>() is null)
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name))
            .ToHashSet();
}
