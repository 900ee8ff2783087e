using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Sessions.Runtime.Errors;

namespace Sessions.Api.OpenApi;

/// <summary>
/// What the endpoint metadata cannot say by itself: the headers read by hand (`Idempotency-Key`, `Last-Event-ID`), the
/// 415 that any operation with a body may answer, and every problem code the server uses, as one enum.
/// </summary>
public sealed class ContractDetails : IOpenApiOperationTransformer, IOpenApiDocumentTransformer
{
    public const string ProblemCodeSchema = "ProblemCode";

    private static readonly Dictionary<string, (string Name, string Description)[]> Headers = new()
    {
        ["Execute"] =
        [
            ("Idempotency-Key", "Makes the turn safe to retry: the same key with the same request gets the first answer again, byte for byte; with another request, 422 idempotency_key_reused. 1 to 255 printable ASCII characters, kept 24 hours."),
            ("Prefer", "respond-async (RFC 7240): record the turn and answer 202 Accepted at once (Location: the run; Preference-Applied: respond-async); a worker runs it. Join it at /v1/runs/{run_id}/turns/{turn_number}/result. Ignored by a stop."),
        ],
        ["ExecuteStreaming"] = [("Idempotency-Key", "As for execute: a retry of an answered key streams the stored events and answer again.")],
        ["FollowRunEvents"] = [("Last-Event-ID", "The seq of the last event received; the stream goes on after it. Takes precedence over after_seq.")],
    };

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var header in operation.OperationId is { } id && Headers.TryGetValue(id, out var headers) ? headers : [])
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = header.Name,
                In = ParameterLocation.Header,
                Required = false,
                Description = header.Description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }

        // Every body is read as JSON: another media type, or none, is a 415 problem like the 400s beside it.
        if (operation.RequestBody is not null && operation.Responses is { } responses && responses.TryGetValue("400", out var badRequest) && !responses.ContainsKey("415"))
        {
            responses["415"] = new OpenApiResponse
            {
                Description = "Unsupported Media Type: send the body with the header 'Content-Type: application/json' (problem code unsupported_media_type).",
                Content = badRequest.Content,
            };
        }

        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemCodeSchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The `code` of every problem the server answers with (its `type` is urn:sessions:problem:{code}). Codes are public API and never renamed.",
            Enum = ProblemCodes.All.Order(StringComparer.Ordinal).Select(code => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(code)!).ToList(),
        };
        return Task.CompletedTask;
    }
}
