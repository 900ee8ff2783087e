using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What one attempt at a turn carries from stage to stage of the pipeline (<see cref="TurnPipeline"/>): the request, and
/// the run it decides on. A lost race makes the next attempt, on the run as it is found then.
/// </summary>
internal sealed record TurnAttempt(TurnRequest Request, TurnObserver? Observer)
{
    /// <summary>The run to decide on; null to read it from the store first.</summary>
    public RunDocument? Run { get; init; }

    /// <summary>
    /// The run as this server last committed it (<see cref="RecentRuns"/>), which may be stale where servers share the
    /// store: a refusal or a lost race decided on it is decided again on the run as stored, once.
    /// </summary>
    public bool FromCopy { get; init; }

    /// <summary>The copy as its commit stored it, when the attempt starts from a copy: what this turn's changes are taken against.</summary>
    public string? RunJson { get; init; }

    /// <summary>False once a decision has been taken again: the next refusal or lost race is final.</summary>
    public bool MayStartAgain { get; init; } = true;

    /// <summary>The next attempt, on the run as stored (read afresh) or as a failed write found it (<paramref name="current"/>).</summary>
    public TurnAttempt Again(RunDocument? current = null) => this with { Run = current, FromCopy = false, RunJson = null, MayStartAgain = false };

    /// <summary>The attempt on the run as it is now, after waiting for it or interrupting the turn that had it.</summary>
    public TurnAttempt On(RunDocument run) => this with { Run = run, FromCopy = false, RunJson = null };
}
