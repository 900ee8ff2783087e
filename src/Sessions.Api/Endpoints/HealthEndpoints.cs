using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions.Runtime.Storage;

namespace Sessions.Api.Endpoints;

public static class HealthEndpoints
{
    /// <summary>`/alive`: the process answers. `/health`: it can also reach its store.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/alive", new() { Predicate = _ => false }).WithTags("Health").AllowAnonymous();
        routes.MapHealthChecks("/health").WithTags("Health").AllowAnonymous();
        return routes;
    }

    public sealed class StoreHealthCheck(IStoreLifecycle store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.CheckAsync(cancellationToken);
                return HealthCheckResult.Healthy("The store answers.");
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("The store does not answer.", ex);
            }
        }
    }
}
