using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Telemetry;

/// <summary>
/// The gauges read from the store (`sessions.runs.waiting`, `sessions.work.due`): counting runs is a query, so it is
/// made every `Sessions:Telemetry:GaugeSeconds` while something collects them (<see cref="RefreshAsync"/>), and a
/// collection reads the last counts. Every server in the process is observed (tests host several).
/// </summary>
public sealed class StoreGauges(IRunStore runs, IWebhookStore deliveries, TimeProvider clock, ILogger<StoreGauges> logger) : IDisposable
{
    private static readonly ConcurrentDictionary<StoreGauges, bool> Live = new();

    private IReadOnlyList<RunCount> waiting = [];
    private (long Turns, long Webhooks)? due;

    /// <summary>Whether anything collects the gauges now (an exporter or a scrape endpoint listening to the meter).</summary>
    public static bool Collected => SessionsTelemetry.RunsWaiting.Enabled || SessionsTelemetry.WorkDue.Enabled;

    /// <summary>Reads the counts afresh; a store that does not answer leaves the last ones (and says so at debug).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        Live.TryAdd(this, true);
        try
        {
            waiting = await runs.CountWaitingAsync(cancellationToken);
            var now = clock.GetUtcNow();
            due = (await runs.CountDueWorkAsync(now, cancellationToken), await deliveries.CountDueAsync(now, cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogDebug(ex, "The store gauges were not read; they keep their last counts");
        }
    }

    internal static IEnumerable<Measurement<long>> ObserveWaiting() =>
        Live.Keys.SelectMany(server => server.waiting).Select(count => new Measurement<long>(
            count.Count,
            new KeyValuePair<string, object?>(SessionsTelemetry.Tenant, count.TenantId),
            new KeyValuePair<string, object?>(SessionsTelemetry.WorkflowId, count.WorkflowId),
            new KeyValuePair<string, object?>(SessionsTelemetry.RunStatus, count.Status.ToWire())));

    internal static IEnumerable<Measurement<long>> ObserveDue() =>
        Live.Keys.Where(server => server.due is not null).SelectMany(server => new[]
        {
            new Measurement<long>(server.due!.Value.Turns, new KeyValuePair<string, object?>(SessionsTelemetry.WorkKind, "turn")),
            new Measurement<long>(server.due!.Value.Webhooks, new KeyValuePair<string, object?>(SessionsTelemetry.WorkKind, "webhook")),
        });

    public void Dispose() => Live.TryRemove(this, out _);
}
