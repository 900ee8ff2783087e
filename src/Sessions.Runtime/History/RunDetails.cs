using Sessions.Runtime.Storage;

namespace Sessions.Runtime.History;

/// <summary>One turn read back: what the client sent, what came of it, and its events.</summary>
public sealed record TurnRecord(TurnDocument Turn, IReadOnlyList<RunEvent> Events);

/// <summary>One execution of one node, reconstructed from the run's events.</summary>
public sealed record NodeExecution(
    string NodeId,
    int Attempt,
    int TurnNumber,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt);

/// <summary>Everything about a run, for support staff.</summary>
public sealed record RunDetails(RunDocument Run, string WorkflowName, IReadOnlyList<TurnRecord> Turns, IReadOnlyList<NodeExecution> NodeExecutions);

public enum CancelOutcome
{
    Cancelled,
    AlreadyCompleted,
    NotEligible,
    NotFound,
}

public sealed record CancelResult(string RunId, CancelOutcome Outcome, string? Status);
