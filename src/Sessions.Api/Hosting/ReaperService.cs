using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Hosting;

/// <summary>Runs the stale-run reaper every `Sessions:Reaper:IntervalSeconds` on every instance.</summary>
public sealed class ReaperService(StaleRunReaper reaper, IOptions<ReaperOptions> options, TimeProvider clock, ILogger<ReaperService> logger, Readiness readiness)
    : PollingService(TimeSpan.FromSeconds(options.Value.IntervalSeconds), clock, logger, readiness)
{
    protected override string Work => "Stale-run sweep";

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken)
    {
        await reaper.SweepAsync(cancellationToken);
        return false;
    }
}
