using Microsoft.Extensions.Options;
using Sessions.Runtime.Telemetry;

namespace Sessions.Api.Hosting;

/// <summary>
/// Reads the store's gauges (`sessions.runs.waiting`, `sessions.work.due`) every `Sessions:Telemetry:GaugeSeconds`,
/// and only while an exporter or a scrape collects them: counting runs is a query no one should pay for unread.
/// </summary>
public sealed class GaugeService(StoreGauges gauges, IOptions<TelemetryOptions> options, TimeProvider clock, ILogger<GaugeService> logger, Readiness readiness)
    : PollingService(TimeSpan.FromSeconds(options.Value.GaugeSeconds), clock, logger, readiness)
{
    protected override string Work => "Reading the store's gauges";

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken)
    {
        if (StoreGauges.Collected)
        {
            await gauges.RefreshAsync(cancellationToken);
        }

        return false;
    }
}
