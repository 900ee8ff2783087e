using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Hosting;

/// <summary>Runs the stale-run reaper every `Sessions:Reaper:IntervalSeconds` on every instance; sweeps are safe to overlap.</summary>
public sealed class ReaperService(StaleRunReaper reaper, IOptions<ReaperOptions> options, TimeProvider clock, ILogger<ReaperService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.IntervalSeconds == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.IntervalSeconds), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await reaper.SweepAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Stale-run sweep failed; the next one retries");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping, or a host that never finished starting being disposed: nothing left to sweep.
        }
    }
}
