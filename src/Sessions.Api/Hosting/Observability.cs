using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sessions.Api.Security;
using Sessions.Runtime.Telemetry;

namespace Sessions.Api.Hosting;

/// <summary>
/// OpenTelemetry, configured by its standard variables: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (and
/// `OTEL_EXPORTER_OTLP_PROTOCOL`: grpc or http/protobuf), the server exports traces (its own `Sessions` spans,
/// ASP.NET Core, HttpClient, Npgsql), metrics (the `Sessions` meter, ASP.NET Core, HttpClient, the runtime) and logs
/// under `OTEL_SERVICE_NAME` (default `sessions`) and `OTEL_RESOURCE_ATTRIBUTES`. With `Sessions:Telemetry:Prometheus`
/// the same metrics are also scraped at `GET /metrics`. With neither, nothing listens to the spans and instruments, so
/// they cost nothing.
/// </summary>
public static class Observability
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Where Prometheus scrapes, when `Sessions:Telemetry:Prometheus` is on.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Npgsql's own ActivitySource and Meter: the store's queries under the turn's spans.</summary>
    private const string Npgsql = "Npgsql";

    /// <summary>
    /// Spans sent per export, unless `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` says otherwise. The SDK's 512 makes a busy server
    /// send an export every few dozen milliseconds; each costs the server an HTTP request (and the collector one more
    /// to take), which at 8 conversations on two cores cost more than the spans themselves (bench/results).
    /// </summary>
    public const int SpansPerExport = 2048;

    /// <summary>Spans held for export at most, unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise: four exports' worth, so a slow collector drops spans, not turns.</summary>
    public const int SpansQueued = 4 * SpansPerExport;

    public static IServiceCollection AddSessionsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration[EndpointVariable]);
        var prometheus = Prometheus(configuration);
        if (!otlp && !prometheus)
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "sessions",
                serviceVersion: typeof(Observability).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(SessionsTelemetry.Name, Npgsql)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();

                // Exemplars (a trace id kept with a histogram's measurements) are off unless asked for with
                // OTEL_METRICS_EXEMPLAR_FILTER: keeping one on every measurement of a traced turn cost about 7 % of
                // the turns per second here; the turn's trace is found from its run id instead.
                if (string.IsNullOrEmpty(configuration["OTEL_METRICS_EXEMPLAR_FILTER"]))
                {
                    metrics.SetExemplarFilter(ExemplarFilterType.AlwaysOff);
                }
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (otlp)
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(SessionsTelemetry.Name, Npgsql)
                    .AddAspNetCoreInstrumentation(Instrument)
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
            services.Configure<ActivityExportProcessorOptions>(processor =>
            {
                if (string.IsNullOrEmpty(configuration["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"]))
                {
                    processor.BatchExportProcessorOptions.MaxExportBatchSize = SpansPerExport;
                }

                if (string.IsNullOrEmpty(configuration["OTEL_BSP_MAX_QUEUE_SIZE"]))
                {
                    processor.BatchExportProcessorOptions.MaxQueueSize = Math.Max(SpansQueued, processor.BatchExportProcessorOptions.MaxExportBatchSize);
                }
            });
        }

        return services;
    }

    /// <summary>`GET /metrics` in Prometheus' text format, for admins when keys or tokens are configured; only when turned on.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes, IConfiguration configuration)
    {
        if (Prometheus(configuration))
        {
            routes.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(Policies.Admin);
        }

        return routes;
    }

    private static bool Prometheus(IConfiguration configuration) =>
        configuration.GetValue<bool>($"{TelemetryOptions.Section}:{nameof(TelemetryOptions.Prometheus)}");

    /// <summary>Probes and scrapes are not traced: a load balancer's health checks would drown the turns.</summary>
    public static void Instrument(OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions options) =>
        options.Filter = http => !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments("/alive")
            && !http.Request.Path.StartsWithSegments(MetricsPath);
}
