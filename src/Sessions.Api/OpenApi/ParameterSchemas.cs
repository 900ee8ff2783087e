using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sessions.Api.OpenApi;

/// <summary>
/// Route and query values are bound as strings so that a bad value gets our own problem code instead of the
/// framework's bare 400; this puts their real types back into the OpenAPI document.
/// </summary>
public sealed class ParameterSchemas : IOpenApiOperationTransformer
{
    private static readonly Dictionary<string, Func<OpenApiSchema>> Schemas = new()
    {
        ["workflow_id"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9a-f]{24}$", Description = "An ObjectId: 24 lowercase hex characters." },
        ["run_id"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9a-f]{24}$", Description = "An ObjectId: 24 lowercase hex characters." },
        ["after_seq"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0", Default = 0 },
        ["created_after"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time", Description = "Runs created at or after this time." },
        ["created_before"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time", Description = "Runs created before this time." },
        ["q"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Description = "Text the workflow's name contains, ignoring case." },
        ["format"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["json", "markdown"], Default = "json" },
        ["version_number"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "0" },
        ["page"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Default = 1 },
        ["limit"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "100", Default = 10 },
        ["activate"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = true },
        ["after_turn"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "-1", Default = -1, Description = "The turn the page starts after; -1 from the start (a fork has a turn 0)." },
        ["turn_number"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "0" },
    };

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
        {
            if (parameter.Name is { } name && Schemas.TryGetValue(name, out var schema))
            {
                parameter.Schema = schema();
            }
        }

        return Task.CompletedTask;
    }
}
