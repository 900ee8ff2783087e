using Sessions.Runtime.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Webhooks;

/// <summary>
/// Makes due deliveries, at least once each. A server claims a delivery with a version-checked write that also moves
/// its due time to the end of the claim, makes the attempt, and records its outcome with another: delivered on a 2xx,
/// else due again after an exponential backoff, until the retry period ends and the delivery is given up. Two servers
/// never both claim one delivery; a server that dies mid-attempt leaves it due again when its claim runs out, and the
/// next attempt carries the same id, so a receiver can tell a repeat.
/// </summary>
public sealed class WebhookDispatcher(IWebhookStore deliveries, IWebhookSender sender, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<WebhookDispatcher> logger)
{
    private readonly string server = Guid.NewGuid().ToString("n");

    /// <summary>One look; returns how many deliveries it attempted.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var due = await deliveries.ListDueAsync(clock.GetUtcNow(), options.Value.Batch, cancellationToken);
        var attempted = await Task.WhenAll(due.Select(delivery => TryDeliverAsync(delivery, cancellationToken)));
        return attempted.Count(made => made);
    }

    private async Task<bool> TryDeliverAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var start = clock.GetUtcNow();
        var claimed = delivery with { Version = delivery.Version + 1, ClaimedBy = server, DueAt = start + options.Value.Claim };
        if (!await deliveries.TryReplaceAsync(claimed, delivery.Version, cancellationToken))
        {
            SessionsTelemetry.StoreConflicts.Add(1, new KeyValuePair<string, object?>(SessionsTelemetry.StoreWrite, "webhook"));
            return false;
        }

        // An attempt belongs to the trace of the turn that owed it, so the receiver's trace continues the turn's.
        SendResult result;
        using (var span = SessionsTelemetry.Source.StartActivity(SessionsTelemetry.WebhookSpan, System.Diagnostics.ActivityKind.Client, SessionsTelemetry.ContextOf(delivery.TraceParent)))
        {
            span?.SetTag(SessionsTelemetry.WebhookId, delivery.Id);
            span?.SetTag(SessionsTelemetry.RunId, delivery.RunId);
            span?.SetTag(SessionsTelemetry.Tenant, delivery.TenantId);
            try
            {
                result = await sender.SendAsync(claimed, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                result = new SendResult(null, ex.Message);
            }

            span?.SetTag(SessionsTelemetry.HttpStatus, result.StatusCode);
            if (!result.Succeeded)
            {
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Error ?? $"answered {result.StatusCode}");
                SessionsTelemetry.WebhookFailures.Add(1);
            }

            SessionsTelemetry.WebhookDuration.Record((clock.GetUtcNow() - start).TotalSeconds, new System.Diagnostics.TagList { { "outcome", result.Succeeded ? "delivered" : "failed" } });
        }

        var end = clock.GetUtcNow();
        var attempt = new DeliveryAttempt(start, result.StatusCode, Math.Round((end - start).TotalMilliseconds, 1), result.Error);
        var failures = claimed.Attempts.Count(a => a.StatusCode is not (>= 200 and < 300)) + 1;
        var retryAt = end + WebhookOptions.Backoff(failures);
        var settled = claimed with
        {
            Version = claimed.Version + 1,
            ClaimedBy = null,
            Attempts = [.. claimed.Attempts, attempt],
            State = result.Succeeded ? DeliveryState.Delivered : retryAt > claimed.GiveUpAt ? DeliveryState.Failed : DeliveryState.Pending,
            DueAt = result.Succeeded ? end : retryAt,
        };
        if (!await deliveries.TryReplaceAsync(settled, claimed.Version, CancellationToken.None))
        {
            // Our claim ran out mid-attempt and another server took the delivery: it records its own attempt.
            logger.LogWarning("Webhook delivery {DeliveryId} outlived its claim; its outcome is not recorded", delivery.Id);
        }
        else if (settled.State == DeliveryState.Failed)
        {
            logger.LogWarning("Webhook delivery {DeliveryId} to {Url} given up after {Attempts} attempts", delivery.Id, delivery.Url, settled.Attempts.Count);
        }

        return true;
    }

    public Task<IReadOnlyList<WebhookDelivery>> ListForRunAsync(string tenantId, string runId, CancellationToken cancellationToken) =>
        deliveries.ListForRunAsync(tenantId, runId, cancellationToken);

    /// <summary>Makes a delivery again, from now, whatever came of it: for `POST .../redeliver`.</summary>
    public async Task<WebhookDelivery?> RedeliverAsync(string tenantId, string runId, string deliveryId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var delivery = await deliveries.GetAsync(tenantId, deliveryId, cancellationToken);
            if (delivery is null || delivery.RunId != runId)
            {
                return null;
            }

            var now = clock.GetUtcNow();
            var again = delivery with
            {
                Version = delivery.Version + 1,
                State = DeliveryState.Pending,
                ClaimedBy = null,
                DueAt = now,
                GiveUpAt = now + options.Value.RetryPeriod,
            };
            if (await deliveries.TryReplaceAsync(again, delivery.Version, cancellationToken))
            {
                return again;
            }
        }

        throw new InvalidOperationException($"Webhook delivery {deliveryId} kept changing; try again.");
    }
}
