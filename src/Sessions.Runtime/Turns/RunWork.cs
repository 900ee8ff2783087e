using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>How every server works through runs' due work (background turns, timers). Section `Sessions:Workers`.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Sessions:Workers";

    /// <summary>
    /// Milliseconds between looks for due work, and so the most a timer fires late on an idle server; 0 turns the
    /// worker off here. Work accepted by this server is started at once, without waiting for a look.
    /// </summary>
    [Range(0, 60_000)]
    public int PollMilliseconds { get; set; } = 500;

    /// <summary>The most runs one look takes.</summary>
    [Range(1, 10_000)]
    public int Batch { get; set; } = 100;

    /// <summary>How many runs this server works on at once; the rest wait for a free worker.</summary>
    [Range(1, 1_000)]
    public int Concurrency { get; set; } = 16;
}

/// <summary>
/// Works through runs' due work: a run's first queued background turn (<see cref="RunDocument.Queue"/>), else its
/// timer once due (`ask` with `timeout_seconds`, `pause` with `resume_after_seconds`). Both live in the run's own
/// document, written by the commit that created them, so no work exists without the turn that made it and a restart
/// loses none: the store is the queue, and <see cref="RunDocument.DueAt"/> is its order. Each piece of work is a turn
/// through the engine, which holds the run like any turn (in memory on an embedded store, by a lease on a shared one:
/// a worker that dies lets its lease expire, and the work is found again) and commits it with the version check, so
/// however many servers look, each piece commits once: the commit of a background turn takes it off the queue, and a
/// timer's turn applies only while the run is exactly as the timer left it.
/// </summary>
public sealed class RunWork(TurnPipeline turns, IRunStore runs, RunningTurns running, WorkSignal signal, IOptions<WorkerOptions> options, TimeProvider clock, ILogger<RunWork> logger)
{
    private readonly ConcurrentDictionary<(string TenantId, string RunId), bool> working = new();
    private readonly SemaphoreSlim workers = new(options.Value.Concurrency);

    /// <summary>
    /// One look: starts the due work of runs that this server is not already working on, as many as there are free
    /// workers. Each task started says whether it committed a turn. Returns at once, with the work running.
    /// </summary>
    public async Task<IReadOnlyList<Task<bool>>> StartDueAsync(CancellationToken cancellationToken)
    {
        var started = new List<Task<bool>>();
        foreach (var run in await runs.ListDueWorkAsync(clock.GetUtcNow(), options.Value.Batch, cancellationToken))
        {
            var key = (run.TenantId, run.Id);
            if (running.Find(run.TenantId, run.Id) is not null || !working.TryAdd(key, true))
            {
                continue;
            }

            if (!workers.Wait(0))
            {
                working.TryRemove(key, out _);
                break;
            }

            started.Add(Task.Run(
                async () =>
                {
                    try
                    {
                        return await DoAsync(run, cancellationToken);
                    }
                    finally
                    {
                        working.TryRemove(key, out _);
                        workers.Release();

                        // A freed worker, and perhaps more of this run's queue: look again now.
                        signal.Due();
                    }
                },
                CancellationToken.None));
        }

        return started;
    }

    /// <summary>One look, waiting for the work it started; returns how many turns it committed.</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken) =>
        (await Task.WhenAll(await StartDueAsync(cancellationToken))).Count(done => done);

    private async Task<bool> DoAsync(RunDocument run, CancellationToken cancellationToken)
    {
        try
        {
            if (run.Queue.Count > 0)
            {
                await turns.ExecuteAsync(Background(run, run.Queue[0]), cancellationToken);
                return true;
            }

            if (run.Timer is { } timer && timer.DueAt <= clock.GetUtcNow())
            {
                await turns.ExecuteAsync(
                    new TurnRequest
                    {
                        TenantId = run.TenantId,
                        WorkflowId = run.WorkflowId,
                        RunId = run.Id,
                        FiredTimer = timer,
                        ScheduledBy = timer.ScheduledBy,
                        ExpectedTurn = run.TurnNumber,
                        RecordedInput = new JsonObject { ["timer"] = WireNames<RunTimerKind>.Of(timer.Kind), ["node_id"] = timer.NodeId },
                    },
                    cancellationToken);
                return true;
            }
        }
        catch (DomainException refused)
        {
            // A turn came first, or holds the run now (then the work is found again next time, if still due).
            logger.LogDebug("Work on run {RunId} not done: {Code}", run.Id, refused.Code);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Work on run {RunId} failed; the next look retries it", run.Id);
        }

        return false;
    }

    /// <summary>
    /// The turn a queued background turn asks for, read from its recorded input as a replay reads one. Acceptance read
    /// the same input already, so this cannot be refused for its shape.
    /// </summary>
    private static TurnRequest Background(RunDocument run, QueuedTurn queued) =>
        RunInputReader.Read(queued.Input, run.TenantId, run.WorkflowId, run.Id) with { RunBy = queued.RunBy, Queued = queued, OnBusy = BusyPolicy.Reject, ScheduledBy = queued.ScheduledBy };
}
