using Microsoft.Extensions.Options;
using Sessions.Runtime.Webhooks;

namespace Sessions.Api.Hosting;

/// <summary>Makes due webhook deliveries every `Sessions:Webhooks:PollMilliseconds` on every instance.</summary>
public sealed class WebhookService(WebhookDispatcher dispatcher, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<WebhookService> logger, Readiness readiness)
    : PollingService(TimeSpan.FromMilliseconds(options.Value.PollMilliseconds), clock, logger, readiness)
{
    protected override string Work => "Making due webhook deliveries";

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken) =>
        await dispatcher.DeliverDueAsync(cancellationToken) >= options.Value.Batch;
}
