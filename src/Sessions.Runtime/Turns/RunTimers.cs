using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>How often every server looks for due timers. Section `Sessions:Timers`.</summary>
public sealed class TimerOptions
{
    public const string Section = "Sessions:Timers";

    /// <summary>Milliseconds between looks, and so the most a timer fires late on an idle server; 0 turns timers off here.</summary>
    [Range(0, 60_000)]
    public int PollMilliseconds { get; set; } = 500;

    /// <summary>The most timers one look fires.</summary>
    [Range(1, 10_000)]
    public int Batch { get; set; } = 100;
}

/// <summary>
/// Fires the timers of waits (`ask` with `timeout_seconds`, `pause` with `resume_after_seconds`). A timer lives in its
/// run's document, written by the very commit of the turn that reached the wait, so no turn exists without its timer
/// and a restart loses none. Firing is a turn like any other, through the engine, that applies only while the run is
/// exactly as the timer left it (the same turn number, the same timer): if a reply came first, or another server fired
/// it first, the version check and that comparison refuse it, so a timer's turn commits once however many servers try.
/// </summary>
public sealed class RunTimers(TurnEngine engine, IRunStore runs, IOptions<TimerOptions> options, TimeProvider clock, ILogger<RunTimers> logger)
{
    /// <summary>One look; returns how many timers it fired.</summary>
    public async Task<int> FireDueAsync(CancellationToken cancellationToken)
    {
        var fired = 0;
        foreach (var run in await runs.ListDueTimersAsync(clock.GetUtcNow(), options.Value.Batch, cancellationToken))
        {
            var timer = run.Timer!;
            try
            {
                await engine.ExecuteAsync(
                    new TurnRequest
                    {
                        TenantId = run.TenantId,
                        WorkflowId = run.WorkflowId,
                        RunId = run.Id,
                        FiredTimer = timer,
                        ExpectedTurn = run.TurnNumber,
                        RecordedInput = new JsonObject { ["timer"] = WireNames<RunTimerKind>.Of(timer.Kind), ["node_id"] = timer.NodeId },
                    },
                    cancellationToken);
                fired++;
            }
            catch (DomainException refused)
            {
                // A turn came first, or holds the run now (then the timer is seen again next time, if still due).
                logger.LogDebug("Timer of run {RunId} not fired: {Code}", run.Id, refused.Code);
            }
        }

        return fired;
    }
}
