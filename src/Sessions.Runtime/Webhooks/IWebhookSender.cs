using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Webhooks;

/// <summary>What one attempt came to: a status code (any, 2xx or not), or no answer at all and why.</summary>
public sealed record SendResult(int? StatusCode, string? Error)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>Makes one attempt at a delivery over HTTP. The host implements it; the runtime decides when and how often.</summary>
public interface IWebhookSender
{
    Task<SendResult> SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken);
}
