using System.ComponentModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions.Api.Hosting;
using Sessions.Runtime.Storage;

namespace Sessions.Api.Endpoints;

/// <summary>What `/health` answers: ready or not, and each check with what it found.</summary>
public sealed record HealthContract(
    [property: Description("`healthy` when every check passed (200), else `unhealthy` (503).")] string Status,
    [property: Description("Each check (`store`, `migrations`, `workers`): its status and what it found.")] IReadOnlyList<HealthCheckContract> Checks);

public sealed record HealthCheckContract(string Name, string Status, string? Description);

public static class HealthEndpoints
{
    /// <summary>How long the store has to answer the readiness query before it counts as down.</summary>
    public static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The readiness checks, on ASP.NET Core's health-check framework.</summary>
    public static IHealthChecksBuilder AddSessionsHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<Readiness>();
        return services.AddHealthChecks()
            .AddCheck<StoreHealthCheck>("store", timeout: StoreTimeout)
            .AddCheck<MigrationsHealthCheck>("migrations")
            .AddCheck<WorkersHealthCheck>("workers");
    }

    /// <summary>`/alive`: the process answers. `/health`: it is ready (store, migrations, workers), else 503 naming what is not.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        // Endpoints of their own (not MapHealthChecks) so that the OpenAPI document declares them.
        routes.MapGet("/alive", () => TypedResults.Text("Healthy"))
            .WithTags("Health").WithName("Alive").WithSummary("The process answers: 200 Healthy")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").AllowAnonymous();
        routes.MapGet("/health", Health)
            .WithTags("Health").WithName("Health")
            .WithSummary("Ready: the store answers within 5 s, its migrations ran, the background workers look for work. 200, else 503 naming the failing check")
            .Produces<HealthContract>(StatusCodes.Status200OK).Produces<HealthContract>(StatusCodes.Status503ServiceUnavailable).AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Health(HealthCheckService checks, CancellationToken ct)
    {
        var report = await checks.CheckHealthAsync(ct);
        var healthy = report.Status == HealthStatus.Healthy;
        var answer = new HealthContract(
            healthy ? "healthy" : "unhealthy",
            report.Entries.Select(e => new HealthCheckContract(e.Key, e.Value.Status == HealthStatus.Healthy ? "healthy" : "unhealthy", e.Value.Description)).ToList());
        return TypedResults.Json(answer, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The store answers a query (on PostgreSQL and SQLite, of its migrations table) within <see cref="StoreTimeout"/>.</summary>
    public sealed class StoreHealthCheck(IStoreLifecycle store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.CheckAsync(cancellationToken);
                return HealthCheckResult.Healthy("The store answers.");
            }
            catch (OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy($"The store did not answer within {StoreTimeout.TotalSeconds:0} s.");
            }
            catch (Exception ex)
            {
                // The first line of the driver's reason (connection refused, authentication failed): no stack, no secret.
                return HealthCheckResult.Unhealthy($"The store does not answer: {ex.Message.Split('\n', 2)[0].Trim()}");
            }
        }
    }

    /// <summary>The store was prepared at startup (its schema migrated); until then no turn can be stored.</summary>
    public sealed class MigrationsHealthCheck(Readiness readiness) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(readiness.StorePrepared
                ? HealthCheckResult.Healthy("The store's migrations ran.")
                : HealthCheckResult.Unhealthy("The store's migrations have not run yet."));
    }

    /// <summary>Every background worker of this process (due work, webhooks, batches, the reaper, the purge) still looks for its work.</summary>
    public sealed class WorkersHealthCheck(Readiness readiness) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(readiness.StuckWorkers() is { Count: > 0 } stuck
                ? HealthCheckResult.Unhealthy(string.Join("; ", stuck.Select(s => $"{s.Work}: no look for {s.Since.TotalSeconds:0} s")))
                : HealthCheckResult.Healthy("The background workers look for work."));
    }
}
