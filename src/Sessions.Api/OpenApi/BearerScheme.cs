using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sessions.Api.OpenApi;

/// <summary>Declares the API-key bearer scheme and requires it of every operation (health and the document itself excepted).</summary>
public sealed class BearerScheme : IOpenApiDocumentTransformer
{
    public const string Name = "api_key";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Name] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: `Authorization: Bearer <key>`. Keys are configured as SHA-256 hashes under Sessions:Auth:ApiKeys, each with a tenant, a principal and a role (admin, editor, viewer).",
        };
        foreach (var (path, item) in document.Paths)
        {
            if (path.StartsWith("/health", StringComparison.Ordinal) || path.StartsWith("/alive", StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }

            foreach (var operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Name, document)] = [] });
            }
        }

        return Task.CompletedTask;
    }
}
