using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sessions.Api.OpenApi;

/// <summary>
/// Declares the two bearer credentials (an API key, an issuer's JWT) and requires one of them of every operation
/// (health and the document itself excepted).
/// </summary>
public sealed class BearerScheme : IOpenApiDocumentTransformer
{
    public const string Name = "api_key";

    public const string JwtName = "jwt";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Name] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: `Authorization: Bearer <key>` (or `x-api-key: <key>`). Keys are configured as SHA-256 hashes under Sessions:Auth:ApiKeys, each with a tenant, a principal and a role (admin, editor, viewer).",
        };
        document.Components.SecuritySchemes[JwtName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A token of the issuer configured in Sessions:Auth:Jwt (Authority, Audience): `Authorization: Bearer <JWT>`. Its claims name the tenant (`tenant`), the principal (`sub`) and the role (`role`, or a scope: sessions:read, sessions:write, sessions:admin); each claim name is configurable.",
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
                // Two requirements: either one will do.
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Name, document)] = [] });
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(JwtName, document)] = [] });
            }
        }

        return Task.CompletedTask;
    }
}
