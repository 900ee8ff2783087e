using Microsoft.Extensions.Options;
using Sessions.Runtime.Webhooks;

namespace Sessions.Api.Webhooks;

/// <summary>Makes due webhook deliveries every `Sessions:Webhooks:PollMilliseconds` on every instance.</summary>
public sealed class WebhookService(WebhookDispatcher dispatcher, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<WebhookService> logger) : BackgroundService
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
                    // A full batch means more may be due: look again at once.
                    while (await dispatcher.DeliverDueAsync(stoppingToken) >= options.Value.Batch)
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Making due webhook deliveries failed; the next look retries");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: a delivery not made now is still pending in the store, and is made after the restart.
        }
    }
}
