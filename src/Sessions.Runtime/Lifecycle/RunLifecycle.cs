using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Lifecycle;

/// <summary>How many runs a purge erased.</summary>
public sealed record PurgeReport(int PurgedRuns);

/// <summary>
/// The end of a stored run: deleting it (hidden at once, its due work dropped) and erasing it, with everything stored
/// for it (its files too), once it is deleted or its workflow's retention has run out. Erasing is one transaction per run, checked
/// against the version the purge read, so a run that a turn changed meanwhile is left for the next purge to judge.
/// </summary>
public sealed class RunLifecycle(IRunStore runs, IConversationStore conversations, Files.RunFiles files, RecentRuns recent, IOptions<PurgeOptions> options, TimeProvider clock, ILogger<RunLifecycle> logger)
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
                throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);
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
    /// The scheduled purge, which no caller asked for and so the only one that crosses tenants: erases every run whose
    /// retention has run out and every run deleted longer ago than the grace period, of every tenant.
    /// </summary>
    public Task<PurgeReport> PurgeDueAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return PurgeAsync(tenantId: null, now, deletedBy: now - options.Value.DeletedGrace, cancellationToken);
    }

    /// <summary>
    /// An admin's purge: erases the admin's tenant's runs whose retention has run out and every run of that tenant that
    /// is deleted, without waiting for the grace period. Nothing of another tenant is erased, looked at or counted.
    /// </summary>
    public Task<PurgeReport> PurgeTenantAsync(RunScope scope, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return PurgeAsync(scope.TenantId, now, deletedBy: now, cancellationToken);
    }

    private async Task<PurgeReport> PurgeAsync(string? tenantId, DateTimeOffset now, DateTimeOffset deletedBy, CancellationToken cancellationToken)
    {
        var purged = 0;
        for (var round = 0; round < MaxRounds; round++)
        {
            var due = await runs.ListPurgeableAsync(tenantId, now, deletedBy, options.Value.Batch, cancellationToken);
            var erased = 0;
            foreach (var run in due)
            {
                if (await runs.PurgeAsync(run, cancellationToken))
                {
                    // The names other protocols gave the conversation go with it (a thread's metadata is the client's data).
                    await conversations.DeleteForRunsAsync(run.TenantId, [run.Id], cancellationToken);
                    erased++;
                }
            }

            purged += erased;
            if (due.Count < options.Value.Batch || erased == 0)
            {
                break;
            }
        }

        // Pieces of files whose turn never committed (its server died mid-upload) are no run's: they go too.
        var orphans = await files.PurgeOrphansAsync(tenantId, cancellationToken);
        if (purged > 0 || orphans > 0)
        {
            logger.LogInformation("Purged {Runs} deleted or expired runs and {Pieces} pieces of files no turn committed ({Tenants})", purged, orphans, tenantId is null ? "every tenant" : "one tenant");
        }

        return new PurgeReport(purged);
    }
}
