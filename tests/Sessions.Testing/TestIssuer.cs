using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Sessions.Testing;

/// <summary>
/// An OpenID Connect issuer on loopback, standing in for the company's identity provider: its discovery document and
/// JWKS (an RSA and an EC key it generates) are served as a real issuer serves them, and it signs tokens with them. It
/// can publish a new key and sign with it, as a rotation does.
/// </summary>
public sealed class TestIssuer : IDisposable
{
    public const string Audience = "sessions-api";

    private readonly LoopbackHttp http;
    private readonly List<SecurityKey> published = [];
    private int jwksReads;

    public TestIssuer()
    {
        http = new LoopbackHttp(ServeAsync);
        Authority = $"{http.Address}/issuer";
        Rsa = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "rsa-1" };
        Ec = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "ec-1" };
        published.AddRange([Rsa, Ec]);
    }

    /// <summary>The issuer (`iss`), as Sessions:Auth:Jwt:Authority names it.</summary>
    public string Authority { get; }

    public RsaSecurityKey Rsa { get; private set; }

    public ECDsaSecurityKey Ec { get; }

    /// <summary>How many times the keys were read: a server caches them.</summary>
    public int JwksReads => Volatile.Read(ref jwksReads);

    /// <summary>The settings that make a server take this issuer's tokens.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Sessions:Auth:Jwt:Authority"] = Authority,
        ["Sessions:Auth:Jwt:Audience"] = Audience,
        ["Sessions:Auth:Jwt:RequireHttpsMetadata"] = "false",
        ["Sessions:Auth:Jwt:KeyRefreshSeconds"] = "1",
    };

    /// <summary>A token with these claims, signed by <paramref name="key"/> (the RSA key when null).</summary>
    public string Token(
        IDictionary<string, object> claims,
        SecurityKey? key = null,
        string? algorithm = null,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string audience = Audience,
        string? issuer = null)
    {
        key ??= Rsa;
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Authority,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.AddMinutes(-1),
            NotBefore = notBefore ?? now.AddMinutes(-1),
            Expires = expires ?? now.AddMinutes(30),
            SigningCredentials = new SigningCredentials(key, algorithm ?? (key is ECDsaSecurityKey ? SecurityAlgorithms.EcdsaSha256 : SecurityAlgorithms.RsaSha256)),
        });
    }

    /// <summary>A token for a person of a tenant with a role, as most tests need one.</summary>
    public string Token(string tenant, string subject, string role, SecurityKey? key = null) =>
        Token(new Dictionary<string, object> { ["tenant"] = tenant, ["sub"] = subject, ["role"] = role }, key);

    /// <summary>An unsigned token (`alg: none`) with the same claims a valid one would have.</summary>
    public string Unsigned(string tenant, string subject, string role)
    {
        var now = DateTimeOffset.UtcNow;
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(new JsonObject
        {
            ["iss"] = Authority, ["aud"] = Audience, ["tenant"] = tenant, ["sub"] = subject, ["role"] = role,
            ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(30).ToUnixTimeSeconds(),
        }.ToJsonString());
        return $"{header}.{payload}.";
    }

    /// <summary>The classic confusion: HS256 keyed with the issuer's public key, which anyone can read from the JWKS.</summary>
    public string SignedWithPublicKeyAsSecret(string tenant, string subject, string role)
    {
        var publicKey = Rsa.Rsa.ExportSubjectPublicKeyInfo();
        var secret = new SymmetricSecurityKey(publicKey) { KeyId = Rsa.KeyId };
        return Token(new Dictionary<string, object> { ["tenant"] = tenant, ["sub"] = subject, ["role"] = role }, secret, SecurityAlgorithms.HmacSha256);
    }

    /// <summary>Publishes a new RSA key, which signs from now on; the old one stays published, as rotations overlap.</summary>
    public RsaSecurityKey Rotate()
    {
        var next = new RsaSecurityKey(RSA.Create(2048)) { KeyId = $"rsa-{published.Count + 1}" };
        lock (published)
        {
            published.Add(next);
        }

        Rsa = next;
        return next;
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        JsonNode? answer = context.Request.Url!.AbsolutePath switch
        {
            "/issuer/.well-known/openid-configuration" => new JsonObject
            {
                ["issuer"] = Authority,
                ["jwks_uri"] = $"{Authority}/jwks",
                ["authorization_endpoint"] = $"{Authority}/authorize",
                ["token_endpoint"] = $"{Authority}/token",
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256", "ES256"),
                ["response_types_supported"] = new JsonArray("code"),
                ["subject_types_supported"] = new JsonArray("public"),
            },
            "/issuer/jwks" => Jwks(),
            _ => null,
        };
        context.Response.StatusCode = answer is null ? 404 : 200;
        context.Response.ContentType = "application/json";
        if (answer is not null)
        {
            await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(answer.ToJsonString()));
        }
    }

    private JsonObject Jwks()
    {
        Interlocked.Increment(ref jwksReads);
        var keys = new JsonArray();
        lock (published)
        {
            foreach (var key in published)
            {
                var jwk = JsonWebKeyConverter.ConvertFromSecurityKey(key);
                var entry = new JsonObject { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["use"] = "sig" };
                if (jwk.Kty == "RSA")
                {
                    (entry["n"], entry["e"], entry["alg"]) = (jwk.N, jwk.E, "RS256");
                }
                else
                {
                    (entry["crv"], entry["x"], entry["y"], entry["alg"]) = (jwk.Crv, jwk.X, jwk.Y, "ES256");
                }

                keys.Add(entry);
            }
        }

        return new JsonObject { ["keys"] = keys };
    }

    public void Dispose() => http.Dispose();
}
