using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>When the reaper looks, and how long a run may stay active without a turn. Section `Sessions:Reaper`.</summary>
public sealed class ReaperOptions
{
    public const string Section = "Sessions:Reaper";

    /// <summary>Seconds between sweeps; 0 turns the reaper off.</summary>
    [Range(0, 86_400)]
    public double IntervalSeconds { get; set; } = 300;

    /// <summary>A run still active (started, running or waiting for input) this long after its last turn is cancelled.</summary>
    [Range(0.0001, 24 * 3650)]
    public double MaxInactiveHours { get; set; } = 720;
}

/// <summary>
/// Ends runs that stayed active past the configured age, as a `stop` turn with termination_source `stale_run_reaper`:
/// through the engine, so the run's lease, version check and state machine apply as to any other turn. Paused runs
/// are parked on purpose and are left alone. Also forgets idempotency keys past their retention.
/// </summary>
public sealed class StaleRunReaper(TurnPipeline turns, IRunStore runs, IdempotencyKeys keys, IOptions<ReaperOptions> options, TimeProvider clock, ILogger<StaleRunReaper> logger)
{
    private static readonly RunStatus[] Active = [RunStatus.Started, RunStatus.Running, RunStatus.WaitingForUserInput];

    /// <summary>One sweep; returns how many runs it ended.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var maxAge = TimeSpan.FromHours(options.Value.MaxInactiveHours);
        var ended = 0;
        var stale = await runs.ListInactiveAsync(Active, clock.GetUtcNow() - maxAge, limit: 500, cancellationToken);
        foreach (var run in stale)
        {
            var reason = $"no turn for more than {options.Value.MaxInactiveHours} hours";
            try
            {
                await turns.ExecuteAsync(
                    new TurnRequest
                    {
                        TenantId = run.TenantId,
                        WorkflowId = run.WorkflowId,
                        RunId = run.Id,
                        Command = TurnCommand.Stop,
                        CancelReason = reason,
                        CancelSource = TerminationSource.StaleRunReaper,
                        RecordedInput = new JsonObject { ["command"] = "stop", ["reason"] = reason, ["by"] = TerminationSource.StaleRunReaper.ToWire() },
                    },
                    cancellationToken);
                ended++;
            }
            catch (DomainException refused)
            {
                // A turn came in meanwhile (or holds the run now): the run is not stale after all.
                logger.LogDebug("Reaper left run {RunId}: {Code}", run.Id, refused.Code);
            }
        }

        if (ended > 0)
        {
            logger.LogInformation("Reaper cancelled {Count} runs inactive for more than {Hours} hours", ended, options.Value.MaxInactiveHours);
        }

        await keys.PurgeExpiredAsync(cancellationToken);
        return ended;
    }
}
