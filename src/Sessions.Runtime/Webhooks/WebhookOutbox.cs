using Sessions.Runtime.Definitions;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Webhooks;

/// <summary>The deliveries a turn owes its run's subscribers, written with the turn's own commit.</summary>
public static class WebhookOutbox
{
    /// <param name="traceParent">The turn's span, which the deliveries' attempts continue (<see cref="WebhookDelivery.TraceParent"/>).</param>
    public static IReadOnlyList<WebhookDelivery> For(RunDocument run, WorkflowDefinition definition, string? answer, WebhookOptions options, DateTimeOffset now, string? traceParent)
    {
        if (WebhookEvents.For(run.Status) is not { } type)
        {
            return [];
        }

        IEnumerable<WebhookSubscription> subscriptions = definition.Webhooks;
        if (run.WebhookUrl is { } url)
        {
            subscriptions = subscriptions.Append(new WebhookSubscription(url, WebhookEvents.All, SecretName: null));
        }

        return subscriptions
            .Where(s => s.Events.Contains(type))
            .Select(s => new WebhookDelivery
            {
                Id = ObjectId.NewId(now).ToString(),
                TenantId = run.TenantId,
                RunId = run.Id,
                WorkflowId = run.WorkflowId,
                Url = s.Url,
                SecretName = s.SecretName,
                TurnNumber = run.TurnNumber,
                Status = run.Status,
                OccurredAt = now,
                Data = answer,
                State = DeliveryState.Pending,
                Version = 1,
                DueAt = now,
                TraceParent = traceParent,
                GiveUpAt = now + options.RetryPeriod,
            })
            .ToList();
    }
}
