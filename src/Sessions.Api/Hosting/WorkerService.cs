using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Hosting;

/// <summary>
/// Starts runs' due work (background turns, timers) every `Sessions:Workers:PollMilliseconds` on every instance, and
/// at once when this instance accepted a background turn or freed a worker.
/// </summary>
public sealed class WorkerService(RunWork work, WorkSignal signal, IOptions<WorkerOptions> options, TimeProvider clock, ILogger<WorkerService> logger, Readiness readiness)
    : PollingService(TimeSpan.FromMilliseconds(options.Value.PollMilliseconds), clock, logger, readiness)
{
    protected override string Work => "Starting due work";

    protected override Task WokenAsync() => signal.NextAsync();

    // The work runs on after the look; the look returns once it has started what it could.
    protected override async Task<bool> LookAsync(CancellationToken cancellationToken)
    {
        await work.StartDueAsync(cancellationToken);
        return false;
    }
}
