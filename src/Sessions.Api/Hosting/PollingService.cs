namespace Sessions.Api.Hosting;

/// <summary>
/// Work no request waits on, looked for every interval on every instance (looks are safe to overlap between
/// instances): the reaper, runs' due work (background turns, timers), webhook deliveries. A look that fails is logged,
/// and the next one tries again.
/// </summary>
/// <param name="interval">Between looks; zero turns the work off on this instance.</param>
public abstract class PollingService(TimeSpan interval, TimeProvider clock, ILogger logger) : BackgroundService
{
    /// <summary>What the looks do, for the log.</summary>
    protected abstract string Work { get; }

    /// <summary>One look; true when more may be due at once (a full batch), to look again without waiting.</summary>
    protected abstract Task<bool> LookAsync(CancellationToken cancellationToken);

    /// <summary>A task that completes when work became due here before the next interval (a look then happens at once).</summary>
    protected virtual Task WokenAsync() => Task.Delay(Timeout.Infinite);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var poll = new PeriodicTimer(interval, clock);
        Task<bool>? tick = null;
        try
        {
            while (true)
            {
                tick ??= poll.WaitForNextTickAsync(stoppingToken).AsTask();
                await Task.WhenAny(tick, WokenAsync().WaitAsync(stoppingToken));
                if (tick.IsCompleted)
                {
                    if (!await tick)
                    {
                        return;
                    }

                    tick = null;
                }

                stoppingToken.ThrowIfCancellationRequested();
                try
                {
                    while (await LookAsync(stoppingToken))
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "{Work} failed; the next look retries", Work);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping (or a host that never finished starting being disposed): what is due stays in the store, for
            // the next look of this instance or another.
        }
    }
}
