using System.ComponentModel.DataAnnotations;

namespace Sessions.Api.Security;

/// <summary>
/// API keys and an identity provider's tokens, section `Sessions:Auth`. Only the SHA-256 of each key is configured
/// (`printf '%s' "$KEY" | sha256sum`), so configuration files and environment dumps never hold a usable key. With
/// neither keys nor an issuer the server serves every request as the default tenant's admin, and refuses to listen
/// anywhere but loopback.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Sessions:Auth";

    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer tokens from an OpenID Connect issuer, beside the API keys.</summary>
    public JwtOptions Jwt { get; set; } = new();

    public bool Enabled => ApiKeys.Count > 0 || Jwt.Enabled;

    /// <summary>What a tenant's name may be, wherever one is configured or read from a token.</summary>
    public const string TenantPattern = "^[A-Za-z0-9_-]{1,64}$";

    public static bool IsTenantName(string? name) => name is not null && System.Text.RegularExpressions.Regex.IsMatch(name, TenantPattern);
}

public sealed class ApiKeyOptions
{
    /// <summary>The key's SHA-256, 64 hex digits.</summary>
    [Required]
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "Sha256 is the key's SHA-256 as 64 hex digits.")]
    public string Sha256 { get; set; } = "";

    [Required]
    [RegularExpression(AuthOptions.TenantPattern)]
    public string Tenant { get; set; } = "";

    /// <summary>Who uses the key: recorded as `run_by` of the runs it starts unless the body names someone.</summary>
    [Required]
    [StringLength(200, MinimumLength = 1)]
    public string Principal { get; set; } = "";

    [Required]
    [RegularExpression("^(admin|editor|viewer)$", ErrorMessage = "Role is admin, editor or viewer.")]
    public string Role { get; set; } = "";
}
