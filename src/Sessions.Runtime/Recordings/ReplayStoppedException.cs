namespace Sessions.Runtime.Recordings;

/// <summary>
/// Thrown where a recorded replay meets a call it may not answer from the recording and may not make (`on_changed`:
/// `stop`): the turn ends there uncommitted, and the replay reports the divergence.
/// </summary>
public sealed class ReplayStoppedException(CallDivergence divergence)
    : Exception($"The replay stopped before node '{divergence.NodeId}' called out: {divergence.Kind}.")
{
    public CallDivergence Divergence { get; } = divergence;
}

/// <summary>A recorded call that failed, failing again the same way in a replay, with the message it failed with.</summary>
public sealed class RecordedCallFailedException(string message) : Exception(message);
