using Microsoft.Extensions.Options;
using Sessions.Runtime.Lifecycle;

namespace Sessions.Api.Hosting;

/// <summary>
/// Erases expired runs, and deleted ones past their grace period, every `Sessions:Purge:IntervalMinutes` on every
/// instance: each run is erased in one version-checked transaction, so instances purging at once erase each run once.
/// </summary>
public sealed class PurgeService(RunLifecycle lifecycle, IOptions<PurgeOptions> options, TimeProvider clock, ILogger<PurgeService> logger, Readiness readiness)
    : PollingService(options.Value.Interval, clock, logger, readiness)
{
    protected override string Work => "Purge of deleted and expired runs";

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken)
    {
        await lifecycle.PurgeDueAsync(cancellationToken);
        return false;
    }
}
