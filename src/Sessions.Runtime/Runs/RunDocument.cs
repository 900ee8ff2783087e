using System.Text.Json.Nodes;

namespace Sessions.Runtime.Runs;

/// <summary>
/// A run between turns: everything needed to take the next turn. <see cref="Version"/> is the optimistic
/// concurrency token: every write of the document (a committed turn, or taking, renewing or giving back its
/// <see cref="Lease"/>) stores version + 1 only if the stored version is still the one it read.
/// </summary>
public sealed record RunDocument
{
    public required string Id { get; init; }

    public required string TenantId { get; init; }

    public required string WorkflowId { get; init; }

    /// <summary>The workflow version pinned by the first turn.</summary>
    public required int VersionNumber { get; init; }

    public required RunStatus Status { get; init; }

    public required long Version { get; init; }

    /// <summary>
    /// The turn working on the run now, on a store that several servers share; null between turns. Who may take it
    /// when is the runtime's rule (<see cref="Turns.RunLeases"/>), written through the version check like any change.
    /// </summary>
    public TurnLease? Lease { get; init; }

    public required int TurnNumber { get; init; }

    /// <summary>The seq of the run's last event; the next event gets LastSeq + 1.</summary>
    public required long LastSeq { get; init; }

    public required JsonObject Variables { get; init; }

    /// <summary>The node the next turn executes first, when the run is not waiting on an ask node.</summary>
    public string? CursorNodeId { get; init; }

    /// <summary>The ask node that the user's next reply answers.</summary>
    public string? WaitingNodeId { get; init; }

    /// <summary>What the waiting node expects, as last sent in `next_input_hint`.</summary>
    public JsonObject? WaitingHint { get; init; }

    public string? Error { get; init; }

    public JsonNode? Output { get; init; }

    public string? RunBy { get; init; }

    public TerminationSource? TerminationSource { get; init; }

    /// <summary>The latest user and assistant messages (`{role, text}`), for model calls that include the conversation.</summary>
    public JsonArray? Conversation { get; init; }

    /// <summary>Token totals of the run's model calls, with a breakdown by model.</summary>
    public JsonObject? LlmTokenUsage { get; init; }

    /// <summary>Latency totals of the run's model calls, with a breakdown by model.</summary>
    public JsonObject? LlmLatencyStats { get; init; }

    /// <summary>The URL its first turn asked to get every webhook event at (`run_input.webhook_url`), if any.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>What its first turn labelled it with to find it by (`run_input.metadata`); see <see cref="Runs.RunLabels"/>.</summary>
    public JsonObject? Metadata { get; init; }

    public string? OriginInstance { get; init; }

    public string? OriginZone { get; init; }

    public string? OriginReference { get; init; }

    /// <summary>How the run began when it was not started by a client.</summary>
    public RunOrigin? Origin { get; init; }

    /// <summary>The run a fork or replay was made from.</summary>
    public string? SourceRunId { get; init; }

    /// <summary>For a fork: the source turn whose end state the fork started from.</summary>
    public int? CheckpointSourceTurnIndex { get; init; }

    /// <summary>
    /// The timer of the node the run waits at, if it has one: written by the turn that reached the node, in that turn's
    /// commit, and cleared by the next turn, whoever takes it (a reply, a command, or the timer firing).
    /// </summary>
    public RunTimer? Timer { get; init; }

    /// <summary>
    /// Turns accepted to run in the background (`Prefer: respond-async`), oldest first: a worker runs the first, and
    /// its commit takes it off. Written with the version check like any change; the one write allowed while another
    /// turn holds the run is appending here (<see cref="Turns.RunQueue"/>).
    /// </summary>
    public IReadOnlyList<QueuedTurn> Queue { get; init; } = [];

    /// <summary>When the run has work no request waits for: its first queued turn at once, else its timer when due.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset? DueAt => Queue.Count > 0 ? Queue[0].AcceptedAt : Timer?.DueAt;

    /// <summary>What the turns since the last full snapshot stored as changes; see <see cref="Runs.Checkpoints"/>.</summary>
    public long ChangedBytesSinceSnapshot { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>When it was deleted (`DELETE /v1/runs/{id}`): hidden from everyone but admins who ask, and erased by the next purge.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>When a finished run's workflow keeps it until (`retention_days`); the purge erases it then.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>
/// A run's timer: at <see cref="DueAt"/> a turn of its own continues the run at <see cref="ContinueAt"/>, unless a turn
/// came first. <see cref="ScheduledBy"/> is the `traceparent` of the turn that set it, which the timer's turn links to.
/// </summary>
public sealed record RunTimer(DateTimeOffset DueAt, RunTimerKind Kind, string NodeId, string ContinueAt, string? ScheduledBy = null);

/// <summary>
/// A turn accepted for a worker to run: its recorded `run_input` (read again when it runs, as replays do), who sent
/// it, and the turn number its acceptance promised (the run's turns, plus those running and queued ahead of it).
/// <see cref="ScheduledBy"/> is the `traceparent` of the request that queued it, which the turn links to.
/// </summary>
public sealed record QueuedTurn(string Id, int TurnNumber, JsonObject Input, string? RunBy, DateTimeOffset AcceptedAt, string? ScheduledBy = null);

/// <summary>A turn's exclusive hold on its run (or on its idempotency key) until <see cref="ExpiresAt"/>, renewed while the turn works.</summary>
public sealed record TurnLease(string Owner, DateTimeOffset ExpiresAt);
