using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;

namespace Sessions.Api.Security;

/// <summary>
/// `Authorization: Bearer &lt;key&gt;` (or `x-api-key: &lt;key&gt;`) against the configured key hashes. Keys are long random strings, so one SHA-256
/// is enough (a slow password hash guards guessable secrets); lookups are by hash, so timing reveals nothing of a key.
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth,
    IOptions<SessionsOptions> sessions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, new RefusalsAtDebug(logger), encoder)
{
    /// <summary>The scheme requests are authenticated by: it hands a JWT to <see cref="JwtAuthentication"/> and anything else here.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>This handler's own scheme, behind <see cref="SchemeName"/>.</summary>
    public const string HandlerScheme = "ApiKey";

    /// <summary>The other header a key may come in, when there is no Authorization header.</summary>
    public const string ApiKeyHeader = "x-api-key";

    /// <summary>Used when no key is configured: the server is then reachable from loopback only.</summary>
    public const string LoopbackScheme = "Loopback";

    private Dictionary<string, ApiKeyOptions>? byHash;

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!auth.Value.Enabled)
        {
            return Task.FromResult(Success(sessions.Value.DefaultTenant, "anonymous", nameof(Role.Admin), LoopbackScheme));
        }

        string? header = Request.Headers.Authorization;
        string? presented;
        if (!string.IsNullOrEmpty(header))
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.Fail("The Authorization header is not 'Bearer <key>'."));
            }

            presented = header["Bearer ".Length..].Trim();
        }
        else if (Request.Headers[ApiKeyHeader] is [{ Length: > 0 } key])
        {
            // LangGraph's SDK (and the clients built on it) send the key this way.
            presented = key.Trim();
        }
        else
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        byHash ??= auth.Value.ApiKeys.ToDictionary(k => k.Sha256.ToLowerInvariant());
        return Task.FromResult(byHash.TryGetValue(Hash(presented), out var known)
            ? Success(known.Tenant, known.Principal, known.Role, SchemeName)
            : AuthenticateResult.Fail("Unknown API key."));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    private AuthenticateResult Success(string tenant, string principal, string role, string authenticationType)
    {
        var identity = new ClaimsIdentity(
            [new(Caller.TenantClaim, tenant), new(ClaimTypes.Name, principal), new(ClaimTypes.Role, role.ToLowerInvariant())],
            authenticationType);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}

/// <summary>
/// A refused key is routine (a client without its key, a scanner), so the handler's lines about challenges and
/// refusals, which ASP.NET Core writes at information, are written at debug; warnings and errors stay as they are.
/// </summary>
internal sealed class RefusalsAtDebug(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Demoted(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The inner factory belongs to the host.
    }

    private sealed class Demoted(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(Demote(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(Demote(logLevel), eventId, state, exception, formatter);

        private static LogLevel Demote(LogLevel level) => level == LogLevel.Information ? LogLevel.Debug : level;
    }
}
