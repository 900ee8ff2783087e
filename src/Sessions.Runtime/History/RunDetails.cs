using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.History;

/// <summary>One turn read back: what the client sent, what came of it, and its events (all of them, or the first ones).</summary>
/// <param name="EventsComplete">False when the page's events ran out inside this turn; the rest are read by seq.</param>
public sealed record TurnRecord(TurnDocument Turn, IReadOnlyList<RunEvent> Events, bool EventsComplete);

/// <summary>
/// Takes a page of a run's turns as it is read, a few events at a time: each turn, then its events in order, then
/// whether they were all of its events. A reader that writes them out as they come holds a few events, not the page.
/// </summary>
public interface ITurnPageSink
{
    ValueTask TurnAsync(TurnDocument turn, CancellationToken cancellationToken);

    ValueTask EventAsync(RunEvent e, CancellationToken cancellationToken);

    /// <param name="eventsComplete">False when the page's events ran out inside this turn; the rest are read by seq.</param>
    ValueTask TurnEndAsync(TurnDocument turn, bool eventsComplete, CancellationToken cancellationToken);
}

/// <summary>How a page of turns ended: whether turns follow it, its last turn, and the node executions of its events.</summary>
public sealed record TurnPageEnd(bool HasMore, int? LastTurnNumber, IReadOnlyList<NodeExecution> NodeExecutions);

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

/// <summary>A run for support staff, before its turns: its state, its workflow's name, and what it is doing now.</summary>
/// <param name="Activity">What the run is doing now, when a turn of it is running or queued; null between turns.</param>
public sealed record RunDetails(RunDocument Run, string WorkflowName, Turns.RunActivity? Activity);

public enum CancelOutcome
{
    Cancelled,
    AlreadyCompleted,
    NotEligible,
    NotFound,
}

public sealed record CancelResult(string RunId, CancelOutcome Outcome, string? Status);
