using Sessions.Runtime.Storage;

namespace Sessions.Runtime.History;

/// <summary>One turn read back: what the client sent, what came of it, and its events (all of them, or the first ones).</summary>
/// <param name="EventsComplete">False when the page's events ran out inside this turn; the rest are read by seq.</param>
public sealed record TurnRecord(TurnDocument Turn, IReadOnlyList<RunEvent> Events, bool EventsComplete);

/// <summary>A page of a run's turns; <see cref="HasMore"/> when turns follow its last one.</summary>
public sealed record TurnPage(IReadOnlyList<TurnRecord> Turns, bool HasMore);

/// <summary>One execution of one node, or one attempt of one step of a `parallel` node, reconstructed from the run's events.</summary>
/// <param name="StepId">For a step's attempt: the step; the node is its `parallel` node.</param>
/// <param name="Outputs">For a step's attempt that completed: what it produced.</param>
/// <param name="Error">For a step's attempt that failed: why.</param>
public sealed record NodeExecution(
    string NodeId,
    int Attempt,
    int TurnNumber,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    string? StepId = null,
    System.Text.Json.Nodes.JsonNode? Outputs = null,
    string? Error = null);

/// <summary>Everything about a run, for support staff.</summary>
/// <summary>A run for support staff: its state, the first page of its turns, and the node executions of those turns.</summary>
/// <param name="Activity">What the run is doing now, when a turn of it is running or queued; null between turns.</param>
public sealed record RunDetails(RunDocument Run, string WorkflowName, TurnPage Turns, IReadOnlyList<NodeExecution> NodeExecutions, Turns.RunActivity? Activity);

public enum CancelOutcome
{
    Cancelled,
    AlreadyCompleted,
    NotEligible,
    NotFound,
}

public sealed record CancelResult(string RunId, CancelOutcome Outcome, string? Status);
