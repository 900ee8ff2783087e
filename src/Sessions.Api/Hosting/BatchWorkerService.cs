using Microsoft.Extensions.Options;
using Sessions.Runtime.Batches;

namespace Sessions.Api.Hosting;

/// <summary>
/// Starts batches' items every `Sessions:Batches:PollMilliseconds` on every instance, and at once when a batch was
/// created here or one of its items finished.
/// </summary>
public sealed class BatchWorkerService(BatchWork work, IOptions<BatchOptions> options, TimeProvider clock, ILogger<BatchWorkerService> logger, Readiness readiness)
    : PollingService(TimeSpan.FromMilliseconds(options.Value.PollMilliseconds), clock, logger, readiness)
{
    protected override string Work => "Starting batch items";

    protected override Task WokenAsync() => work.NextAsync();

    protected override async Task<bool> LookAsync(CancellationToken cancellationToken)
    {
        await work.StartDueAsync(cancellationToken);
        return false;
    }
}
