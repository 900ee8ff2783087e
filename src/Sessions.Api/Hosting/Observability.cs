using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sessions.Runtime.Telemetry;

namespace Sessions.Api.Hosting;

/// <summary>
/// OpenTelemetry, configured by its standard variables: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (and
/// `OTEL_EXPORTER_OTLP_PROTOCOL`: grpc or http/protobuf), the server exports traces (its own `Sessions` spans,
/// ASP.NET Core, HttpClient, Npgsql) and metrics (the `Sessions` meter, ASP.NET Core, HttpClient, the runtime) under
/// `OTEL_SERVICE_NAME` (default `sessions`) and `OTEL_RESOURCE_ATTRIBUTES`. Without an endpoint nothing listens to the
/// spans and instruments, so they cost nothing.
/// </summary>
public static class Observability
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Npgsql's own ActivitySource and Meter: the store's queries under the turn's spans.</summary>
    private const string Npgsql = "Npgsql";

    public static IServiceCollection AddSessionsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration[EndpointVariable]))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "sessions",
                serviceVersion: typeof(Observability).Assembly.GetName().Version?.ToString()))
            .WithTracing(tracing => tracing
                .AddSource(SessionsTelemetry.Name, Npgsql)
                .AddAspNetCoreInstrumentation(Instrument)
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter(SessionsTelemetry.Name, Npgsql)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .UseOtlpExporter();
        return services;
    }

    /// <summary>Probes are not traced: a load balancer's health checks would drown the turns.</summary>
    public static void Instrument(OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions options) =>
        options.Filter = http => !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments("/alive");
}
