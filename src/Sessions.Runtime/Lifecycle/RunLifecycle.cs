using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.Lifecycle;

/// <summary>How many runs a purge erased.</summary>
public sealed record PurgeReport(int PurgedRuns);

/// <summary>
/// The end of a stored run: deleting it (hidden at once, its due work dropped) and erasing it, with everything stored
/// for it (its files too), once it is deleted or its workflow's retention has run out. Erasing is one transaction per run, checked
/// against the version the purge read, so a run that a turn changed meanwhile is left for the next purge to judge.
/// </summary>
public sealed class RunLifecycle(IRunStore runs, Files.RunFiles files, RecentRuns recent, IOptions<PurgeOptions> options, TimeProvider clock, ILogger<RunLifecycle> logger)
{
    private const int MaxRounds = 1_000;

    /// <summary>Deletes a run the scope sees; a run it does not see (already deleted, another's) is a 404.</summary>
    public async Task<RunDocument> DeleteAsync(RunScope scope, string runId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var run = await runs.GetAsync(scope.TenantId, runId, cancellationToken);
            if (run is null || run.DeletedAt is not null || !scope.CanSee(run))
            {
                throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run");
            }

            // Its queued turns and its timer go with it: nothing runs on a deleted run. A turn running now fails its
            // commit on the version and answers as for a run that is not there.
            var now = clock.GetUtcNow();
            var deleted = run with { DeletedAt = now, Timer = null, Queue = [], Lease = null, Version = run.Version + 1, UpdatedAt = now };
            if ((await runs.TryReplaceAsync(deleted, run.Version, WriteDurability.Durable, cancellationToken)).Written)
            {
                // A write outside a turn: this server's copy of the run, which its next turn would start from, is stale.
                recent.Forget(run.TenantId, run.Id);
                return deleted;
            }
        }

        throw new DomainException(ErrorKind.Conflict, ProblemCodes.TurnConflict, "Run kept changing", "The run kept changing while it was being deleted; try again.");
    }

    /// <summary>
    /// Erases every run whose retention has run out and every deleted run: those deleted longer ago than the grace
    /// period, or, with <paramref name="everyDeleted"/> (an admin's purge), all of them.
    /// </summary>
    public async Task<PurgeReport> PurgeAsync(bool everyDeleted, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var deletedBy = everyDeleted ? now : now - options.Value.DeletedGrace;
        var purged = 0;
        for (var round = 0; round < MaxRounds; round++)
        {
            var due = await runs.ListPurgeableAsync(now, deletedBy, options.Value.Batch, cancellationToken);
            var erased = 0;
            foreach (var run in due)
            {
                erased += await runs.PurgeAsync(run, cancellationToken) ? 1 : 0;
            }

            purged += erased;
            if (due.Count < options.Value.Batch || erased == 0)
            {
                break;
            }
        }

        // Pieces of files whose turn never committed (its server died mid-upload) are no run's: they go too.
        var orphans = await files.PurgeOrphansAsync(cancellationToken);
        if (purged > 0 || orphans > 0)
        {
            logger.LogInformation("Purged {Runs} deleted or expired runs and {Pieces} pieces of files no turn committed", purged, orphans);
        }

        return new PurgeReport(purged);
    }
}
