using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Sessions.Api.Http;
using Sessions.Runtime.Errors;

namespace Sessions.Api.Security;

/// <summary>Requests per API key, section `Sessions:RateLimit`: a token bucket refilled every second.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Sessions:RateLimit";

    /// <summary>Sustained requests per second per key (per client address without a key); 0 turns limiting off.</summary>
    [Range(0, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 200;

    /// <summary>How many requests a key may send at once before the per-second rate applies.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 400;
}

public static class RateLimiting
{
    /// <summary>
    /// One bucket per key (tenant and principal), or per client address for requests without one. Health probes are
    /// never limited. A refused request is a 429 problem with `Retry-After`, rather than the limiter's default 503.
    /// </summary>
    public static IServiceCollection AddSessionsRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((limiter, configured) =>
        {
            var options = configured.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                if (options.PermitsPerSecond == 0 || http.Request.Path.StartsWithSegments("/health") || http.Request.Path.StartsWithSegments("/alive"))
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }

                var partition = http.User.Identity?.AuthenticationType == ApiKeyAuthentication.SchemeName
                    ? $"key:{http.User.FindFirstValue(Caller.TenantClaim)}:{http.User.FindFirstValue(ClaimTypes.Name)}"
                    : $"address:{http.Connection.RemoteIpAddress}";
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.Burst,
                    TokensPerPeriod = options.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                var refusal = new DomainException(
                        ErrorKind.TooManyRequests,
                        ProblemCodes.RateLimited,
                        "Too many requests",
                        $"This key sent more than {options.PermitsPerSecond} requests per second (burst {options.Burst}); retry after {retryAfter} s.")
                    .With("retry_after_seconds", retryAfter);
                await ProblemMapping.WriteAsync(context.HttpContext, refusal);
            };
        });
        return services;
    }
}
