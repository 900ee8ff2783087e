namespace Sessions.Api.Hosting;

/// <summary>
/// Work no request waits on, looked for every interval on every instance (looks are safe to overlap between
/// instances): the reaper, runs' due work (background turns, timers), webhook deliveries. A look that fails is logged,
/// and the next one tries again.
/// </summary>
/// <param name="interval">Between looks; zero turns the work off on this instance.</param>
/// <param name="readiness">Told of every look, for `/health` to see that the worker still works.</param>
public abstract class PollingService(TimeSpan interval, TimeProvider clock, ILogger logger, Readiness readiness) : BackgroundService
{
    /// <summary>What the looks do, for the log.</summary>
    protected abstract string Work { get; }

    /// <summary>One look; true when more may be due at once (a full batch), to look again without waiting.</summary>
    protected abstract Task<bool> LookAsync(CancellationToken cancellationToken);

    private static readonly Task Never = new TaskCompletionSource().Task;

    /// <summary>
    /// A task that completes when work became due here before the next interval (a look then happens at once). Asked
    /// for again only once it has completed.
    /// </summary>
    protected virtual Task WokenAsync() => Never;

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        readiness.Looking(Work, interval);
        using var poll = new PeriodicTimer(interval, clock);
        Task<bool>? tick = null;
        Task? woken = null;
        try
        {
            while (true)
            {
                // Each kept until it completes: a look every tick, or at once when woken; stopping ends the tick.
                tick ??= poll.WaitForNextTickAsync(stoppingToken).AsTask();
                woken ??= WokenAsync();
                await Task.WhenAny(tick, woken);
                if (tick.IsCompleted)
                {
                    if (!await tick)
                    {
                        return;
                    }

                    tick = null;
                }

                if (woken.IsCompleted)
                {
                    woken = null;
                }

                stoppingToken.ThrowIfCancellationRequested();
                readiness.Looking(Work, interval);
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
