using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Sessions.Api.Http;
using Sessions.Runtime.Errors;

namespace Sessions.Api.Security;

/// <summary>
/// An identity provider's JWTs, validated by ASP.NET Core's JWT bearer handler against the issuer's discovery document
/// and keys (signature by an issuer key, issuer, audience, lifetime, an asymmetric algorithm), then read into the
/// product's own terms: the tenant, the principal and the role, as an API key gives them. A bearer value that is a JWT
/// goes here; any other is an API key.
/// </summary>
public static class JwtAuthentication
{
    /// <summary>The handler's scheme; requests reach it through the `Bearer` scheme, which picks it for a JWT.</summary>
    public const string SchemeName = "Jwt";

    /// <summary>Why a valid token may still do nothing here (no tenant, no role): the `403`'s detail.</summary>
    public const string RefusalClaim = "sessions:refusal";

    /// <summary>The credential a request presents: `Authorization: Bearer` (or `x-api-key`, as LangGraph's SDK sends it).</summary>
    public static string? Presented(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (!string.IsNullOrEmpty(header))
        {
            return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        }

        return request.Headers[ApiKeyAuthentication.ApiKeyHeader] is [{ Length: > 0 } key] ? key.Trim() : null;
    }

    /// <summary>Whether a value has a JWT's form: three base64url parts, the first a JSON header naming its `alg`.</summary>
    public static bool LooksLikeJwt(string? value)
    {
        var parts = value?.Split('.');
        if (parts is not { Length: 3 } || parts[0].Length is 0 or > 2048)
        {
            return false;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0]));
            return header.RootElement.ValueKind == JsonValueKind.Object && header.RootElement.TryGetProperty("alg", out _);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return false;
        }
    }

    public static void Configure(JwtBearerOptions bearer, JwtOptions jwt)
    {
        bearer.Authority = jwt.Authority;
        bearer.Audience = jwt.Audience;
        bearer.RequireHttpsMetadata = jwt.RequireHttpsMetadata;

        // Claims keep the names the issuer gave them: `sub`, `tenant`, `role`, `scope` are read as configured.
        bearer.MapInboundClaims = false;
        bearer.RefreshInterval = TimeSpan.FromSeconds(jwt.KeyRefreshSeconds);
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = TimeSpan.FromSeconds(jwt.ClockSkewSeconds),
            ValidAlgorithms = jwt.Algorithms,
            NameClaimType = jwt.PrincipalClaim,
        };
        bearer.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                context.Token = Presented(context.Request);
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                context.Principal = Read(context.Principal!, jwt);
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = async context =>
            {
                // A key the issuer has just rotated in: the handler asked for the keys again (at most once per
                // KeyRefreshSeconds); this token is validated against them now instead of being refused once first.
                if (context.Exception is not SecurityTokenSignatureKeyNotFoundException || context.Options.ConfigurationManager is null
                    || Presented(context.Request) is not { } token)
                {
                    return;
                }

                // The keys are read again in the background: wait a little for the token's key to appear among them.
                var kid = new JsonWebToken(token).Kid;
                var issuer = await context.Options.ConfigurationManager.GetConfigurationAsync(context.HttpContext.RequestAborted);
                for (var wait = 0; wait < 20 && !issuer.SigningKeys.Any(k => k.KeyId == kid); wait++)
                {
                    await Task.Delay(50, context.HttpContext.RequestAborted);
                    issuer = await context.Options.ConfigurationManager.GetConfigurationAsync(context.HttpContext.RequestAborted);
                }

                var parameters = context.Options.TokenValidationParameters.Clone();
                parameters.ValidIssuers = [issuer.Issuer];
                parameters.IssuerSigningKeys = issuer.SigningKeys;
                var again = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(token, parameters);
                if (again.IsValid)
                {
                    context.Principal = Read(new ClaimsPrincipal(again.ClaimsIdentity), jwt);
                    context.Success();
                }
            },
            OnChallenge = async context =>
            {
                // RFC 6750: what is wrong with the token, in the header and as a problem; never the token itself.
                context.HandleResponse();
                var description = Describe(context.AuthenticateFailure);
                context.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{description}\"";
                await ProblemMapping.WriteAsync(context.HttpContext, new DomainException(ErrorKind.Unauthorized, ProblemCodes.Unauthorized, "Invalid token", description));
            },
        };
    }

    /// <summary>The token's claims as the tenant, principal and role an API key gives; or, when one is missing, why.</summary>
    public static ClaimsPrincipal Read(ClaimsPrincipal token, JwtOptions jwt)
    {
        var tenant = jwt.Tenant ?? token.FindFirstValue(jwt.TenantClaim);
        var principal = token.FindFirstValue(jwt.PrincipalClaim);
        var role = RoleOf(token, jwt);
        var refusal = !AuthOptions.IsTenantName(tenant)
            ? $"The token names no tenant: its '{jwt.TenantClaim}' claim is missing or not 1 to 64 letters, digits, _ or -."
            : string.IsNullOrWhiteSpace(principal)
                ? $"The token names no principal: its '{jwt.PrincipalClaim}' claim is missing."
                : role is null
                    ? $"The token grants no role: its '{jwt.RoleClaim}' claim is not viewer, editor or admin, and no scope in 'scope' or 'scp' grants one ({string.Join(", ", jwt.ScopeRoles().Keys.Order(StringComparer.Ordinal))})."
                    : null;
        Claim[] claims = refusal is null
            ? [new(Caller.TenantClaim, tenant!), new(ClaimTypes.Name, principal!), new(ClaimTypes.Role, role!.Value.ToString().ToLowerInvariant())]
            : [new(RefusalClaim, refusal)];

        // The same authentication type as a key's: a token's principal is recorded as run_by, as a key's is.
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName));
    }

    /// <summary>The highest role the role claim names, else the highest a scope grants.</summary>
    private static Role? RoleOf(ClaimsPrincipal token, JwtOptions jwt)
    {
        var named = token.FindAll(jwt.RoleClaim)
            .Select(c => Enum.TryParse<Role>(c.Value, ignoreCase: true, out var role) && Enum.IsDefined(role) && !int.TryParse(c.Value, out _) ? role : (Role?)null)
            .Max();
        if (named is not null)
        {
            return named;
        }

        var grants = jwt.ScopeRoles();
        return token.FindAll("scope").Concat(token.FindAll("scp"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(scope => grants.TryGetValue(scope, out var role) ? role : (Role?)null)
            .Max();
    }

    private static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException expired => $"The token expired at {expired.Expires:O}.",
        SecurityTokenNotYetValidException early => $"The token is not valid before {early.NotBefore:O}.",
        SecurityTokenInvalidAudienceException => "The token is not for this API's audience.",
        SecurityTokenInvalidIssuerException => "The token is not from the configured issuer.",
        SecurityTokenInvalidAlgorithmException => "The token is signed with an algorithm this server does not take (asymmetric signatures only).",
        SecurityTokenSignatureKeyNotFoundException => "The token is signed by a key the issuer does not publish.",
        SecurityTokenInvalidSignatureException => "The token's signature does not verify.",
        SecurityTokenNoExpirationException => "The token has no expiry.",
        SecurityTokenMalformedException => "The token is not a well-formed JWT.",
        null => "A token is required.",
        _ when failure.GetType().Name.Contains("Signature", StringComparison.Ordinal) => "The token's signature does not verify.",
        _ => "The token could not be validated.",
    };
}

/// <summary>
/// ASP.NET Core's JWT bearer handler, whose lines about a refused token (written at information) go at debug: a refused
/// token is routine, and what is wrong with it is the client's to read in its 401, not the log's.
/// </summary>
internal sealed class QuietJwtBearerHandler(IOptionsMonitor<JwtBearerOptions> options, ILoggerFactory logger, System.Text.Encodings.Web.UrlEncoder encoder)
    : JwtBearerHandler(options, new RefusalsAtDebug(logger), encoder);
