using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Hosting;

/// <summary>Fires due timers every `Sessions:Timers:PollMilliseconds` on every instance.</summary>
public sealed class TimerService(RunTimers timers, IOptions<TimerOptions> options, TimeProvider clock, ILogger<TimerService> logger)
    : PollingService(TimeSpan.FromMilliseconds(options.Value.PollMilliseconds), clock, logger)
{
    protected override string Work => "Firing due timers";

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken) =>
        await timers.FireDueAsync(cancellationToken) >= options.Value.Batch;
}
