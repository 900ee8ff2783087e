using Microsoft.IdentityModel.Tokens;

namespace Sessions.Api.Security;

/// <summary>
/// An identity provider's tokens (`Sessions:Auth:Jwt`): the issuer's OpenID Connect discovery document and signing keys
/// are fetched from <see cref="Authority"/>, cached and refreshed (a rotated key is picked up without a restart), and
/// each token's claims name the tenant, the principal and the role.
/// </summary>
public sealed class JwtOptions
{
    /// <summary>The issuer (`iss`), whose `/.well-known/openid-configuration` is read; none turns tokens off.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience (`aud`) a token must be for: this API's identifier at the issuer.</summary>
    public string? Audience { get; set; }

    /// <summary>Whether the issuer must be reached over HTTPS; false is taken only for a loopback issuer (development, tests).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim that names the tenant, when <see cref="Tenant"/> does not fix one.</summary>
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>One tenant for every token, for a deployment that serves one; the tenant claim is then not read.</summary>
    public string? Tenant { get; set; }

    /// <summary>The claim that names the principal: `run_by` of the runs it starts, and what a viewer sees.</summary>
    public string PrincipalClaim { get; set; } = "sub";

    /// <summary>The claim holding a role (`viewer`, `editor`, `admin`; a list takes the highest).</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>
    /// Scopes (in `scope` or `scp`) that grant a role when the token has no role claim, by name: `sessions:read`,
    /// `sessions:write` and `sessions:admin` unless configured, and any other the issuer uses (`workflows:write`).
    /// </summary>
    /// <remarks>Configured as a list (`Scopes:0:Scope=workflows:write`, `Scopes:0:Role=editor`): a scope's name may hold a colon.</remarks>
    public List<ScopeRole> Scopes { get; set; } = [];

    /// <summary>How far a token's times may be off the server's clock.</summary>
    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>The least time between two reads of the issuer's keys when a token names a key not yet known.</summary>
    public int KeyRefreshSeconds { get; set; } = 300;

    /// <summary>The signing algorithms taken: asymmetric ones only (never `none`, never an HMAC keyed with a public key).</summary>
    public List<string> Algorithms { get; set; } =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    /// <summary>The scopes that grant each role: the configured ones, and the product's own three.</summary>
    public IReadOnlyDictionary<string, Role> ScopeRoles()
    {
        var roles = new Dictionary<string, Role>(StringComparer.Ordinal)
        {
            ["sessions:read"] = Role.Viewer,
            ["sessions:write"] = Role.Editor,
            ["sessions:admin"] = Role.Admin,
        };
        foreach (var grant in Scopes)
        {
            roles[grant.Scope] = Enum.Parse<Role>(grant.Role, ignoreCase: true);
        }

        return roles;
    }

    /// <summary>What is wrong with this configuration, if anything: said at startup, in one line.</summary>
    public string? Problem()
    {
        if (!Enabled)
        {
            return null;
        }

        if (!Uri.TryCreate(Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
        {
            return $"Sessions:Auth:Jwt:Authority '{Authority}' is not an http(s) address.";
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            return "Sessions:Auth:Jwt:Audience is required with an Authority: tokens are taken only for this API's audience.";
        }

        if (authority.Scheme == "http" && (RequireHttpsMetadata || !authority.IsLoopback))
        {
            return $"Sessions:Auth:Jwt:Authority '{Authority}' is not HTTPS: only a loopback issuer may be plain HTTP, with RequireHttpsMetadata=false.";
        }

        if (Scopes.FirstOrDefault(g => string.IsNullOrWhiteSpace(g.Scope) || !Enum.TryParse<Role>(g.Role, ignoreCase: true, out var role) || !Enum.IsDefined(role) || int.TryParse(g.Role, out _)) is { } wrong)
        {
            return $"Sessions:Auth:Jwt:Scopes maps scope '{wrong.Scope}' to '{wrong.Role}': each entry is a Scope and a Role (viewer, editor or admin).";
        }

        if (Algorithms.FirstOrDefault(a => a.Equals("none", StringComparison.OrdinalIgnoreCase) || a.StartsWith("HS", StringComparison.OrdinalIgnoreCase)) is { } weak)
        {
            return $"Sessions:Auth:Jwt:Algorithms names '{weak}': only asymmetric signatures are taken.";
        }

        return Tenant is { } fixedTenant && !AuthOptions.IsTenantName(fixedTenant)
            ? $"Sessions:Auth:Jwt:Tenant '{fixedTenant}' is not 1 to 64 letters, digits, _ or -."
            : null;
    }
}

/// <summary>A scope of the issuer's that grants a role here.</summary>
public sealed class ScopeRole
{
    public string Scope { get; set; } = "";

    public string Role { get; set; } = "";
}
