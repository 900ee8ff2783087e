namespace Sessions.Runtime.Errors;

/// <summary>
/// The store failed while a turn was being committed, and could not then be asked whether the commit was applied: the
/// one failure after which the server cannot say "nothing was changed". Its answer tells the client how to find out.
/// </summary>
public sealed class CommitOutcomeUnknownException(string runId, int turnNumber, Exception failure)
    : Exception($"The commit of turn {turnNumber} of run {runId} failed, and whether it was applied could not be read back.", failure)
{
    public string RunId { get; } = runId;

    /// <summary>The turn number the run has if the commit was applied.</summary>
    public int TurnNumber { get; } = turnNumber;
}
