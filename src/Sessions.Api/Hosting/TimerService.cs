using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Hosting;

/// <summary>Fires due timers every `Sessions:Timers:PollMilliseconds` on every instance; looks are safe to overlap.</summary>
public sealed class TimerService(RunTimers timers, IOptions<TimerOptions> options, TimeProvider clock, ILogger<TimerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.PollMilliseconds == 0)
        {
            return;
        }

        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.PollMilliseconds), clock);
        try
        {
            while (await poll.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    // A full batch means more may be due: look again at once rather than a poll later.
                    while (await timers.FireDueAsync(stoppingToken) >= options.Value.Batch)
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Firing due timers failed; the next look retries");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: a timer not fired now is still in its run, and fires after the restart.
        }
    }
}
