using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Runs;

/// <summary>
/// Which runs a caller may see: its tenant's, and for a viewer only those it started. The one place that rule lives;
/// every read, list and turn goes through it, and a run outside it answers as one that does not exist.
/// </summary>
/// <param name="OnlyRunsBy">The principal whose runs alone are visible (a viewer's own), or null for every run of the tenant.</param>
/// <param name="IncludeDeleted">Deleted runs are seen too (an admin who asked); they never take turns whoever asks.</param>
public sealed record RunScope(string TenantId, string? OnlyRunsBy = null, bool IncludeDeleted = false)
{
    public bool CanSee(RunDocument run) => Owns(run.TenantId, run.RunBy) && (run.DeletedAt is null || IncludeDeleted);

    /// <summary>Whether the scope sees what <paramref name="runBy"/> started in <paramref name="tenantId"/> (a run, a batch of runs).</summary>
    public bool Owns(string tenantId, string? runBy) => tenantId == TenantId && (OnlyRunsBy is null || runBy == OnlyRunsBy);

    /// <summary>The query limited to what the scope sees; asking for another principal's runs is refused, not quietly emptied.</summary>
    public RunQuery Restrict(RunQuery query)
    {
        query = query with { IncludeDeleted = IncludeDeleted };
        if (OnlyRunsBy is not { } own)
        {
            return query;
        }

        return query.RunBy is null || query.RunBy == own
            ? query with { RunBy = own }
            : throw new DomainException(ErrorKind.Forbidden, ProblemCodes.Forbidden, "Not permitted", "A viewer lists only its own runs: run_by must be absent or the key's principal.");
    }
}
