using System.Text.Json.Serialization;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Runs;

/// <summary>Where a delivery is in its life: still to be made (or retried), made, or given up after the retry period.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeliveryState>))]
public enum DeliveryState
{
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("delivered")] Delivered,
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>One try at a delivery, as the log shows it.</summary>
public sealed record DeliveryAttempt(DateTimeOffset At, int? StatusCode, double DurationMs, string? Error);

/// <summary>
/// One webhook delivery: what happened to a run in one turn, for one subscriber. Written in the same commit as the
/// turn (so no turn is without its deliveries and no delivery without its turn), then made by whichever server claims
/// it, at least once, under the same id every time. Like a run, it carries a <see cref="Version"/>: every write
/// (a claim, an attempt's outcome, a redelivery) stores version + 1 only if the stored one is still the one it read.
/// </summary>
public sealed record WebhookDelivery
{
    public required string Id { get; init; }

    public required string TenantId { get; init; }

    public required string RunId { get; init; }

    public required string WorkflowId { get; init; }

    public required string Url { get; init; }

    /// <summary>The name of the tenant's secret whose bytes sign the delivery; null sends it unsigned.</summary>
    public string? SecretName { get; init; }

    public required int TurnNumber { get; init; }

    /// <summary>The status the turn left the run in: what the delivery tells of.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>`run.waiting_for_user_input`, `run.completed`, ...: the event of <see cref="Status"/> (see <see cref="WebhookEvents"/>).</summary>
    public string Type => WebhookEvents.For(Status) ?? throw new InvalidOperationException($"No webhook event tells of status {Status}.");

    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>The turn's answer, exactly as its client got it (JSON text), or null where no answer was rendered.</summary>
    public string? Data { get; init; }

    public required DeliveryState State { get; init; }

    public required long Version { get; init; }

    /// <summary>
    /// When the delivery is next due. A server that claims it moves this to the end of its claim, so that a delivery
    /// whose server died becomes due again by itself; being due is the only thing a store is asked about.
    /// </summary>
    public required DateTimeOffset DueAt { get; init; }

    /// <summary>The server making the delivery now, if one is.</summary>
    public string? ClaimedBy { get; init; }

    /// <summary>After this, a failed attempt is the last: the delivery is given up.</summary>
    public required DateTimeOffset GiveUpAt { get; init; }

    public IReadOnlyList<DeliveryAttempt> Attempts { get; init; } = [];

    /// <summary>The `traceparent` of the turn that made the delivery: its attempts are spans of that turn's trace.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>The events a webhook can subscribe to: a run coming to rest in one of these statuses at the end of a turn.</summary>
public static class WebhookEvents
{
    private static readonly RunStatus[] Notified =
    [
        RunStatus.WaitingForUserInput, RunStatus.Paused, RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled, RunStatus.AbortedLoopingRisk,
    ];

    public static IReadOnlyList<string> All { get; } = Notified.Select(Of).ToList();

    /// <summary>The event of a turn that left the run in <paramref name="status"/>, or null when none is sent for it.</summary>
    public static string? For(RunStatus status) => Notified.Contains(status) ? Of(status) : null;

    private static string Of(RunStatus status) => $"run.{status.ToWire()}";
}
