using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions.Runtime.Storage;

namespace Sessions.Api.Endpoints;

public static class HealthEndpoints
{
    /// <summary>`/alive`: the process answers. `/health`: it can also reach its store.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        // Endpoints of their own (not MapHealthChecks) so that the OpenAPI document declares them.
        routes.MapGet("/alive", () => TypedResults.Text("Healthy"))
            .WithTags("Health").WithName("Alive").WithSummary("The process answers: 200 Healthy")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").AllowAnonymous();
        routes.MapGet("/health", Health)
            .WithTags("Health").WithName("Health").WithSummary("The process answers and reaches its store: 200 Healthy, else 503 Unhealthy")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/plain").AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Health(HealthCheckService checks, CancellationToken ct)
    {
        var report = await checks.CheckHealthAsync(ct);
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Text("Healthy")
            : TypedResults.Text("Unhealthy", statusCode: StatusCodes.Status503ServiceUnavailable);
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
