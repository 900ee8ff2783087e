using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Storage;

/// <summary>A workflow: its name and which of its immutable versions new runs use.</summary>
public sealed record WorkflowDocument(
    string Id,
    string TenantId,
    string Name,
    string? Description,
    int ActiveVersion,
    int LatestVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>When it was deleted (`DELETE /v1/workflows/{id}`): hidden from lists and reads, and it starts no runs; its runs stay.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>The workflow once <paramref name="version"/> is stored as number <paramref name="number"/>: it takes its name when activated.</summary>
    public WorkflowDocument WithVersion(int number, NewWorkflowVersion version, bool activate) => this with
    {
        Name = activate ? version.Name : Name,
        Description = activate ? version.Description : Description,
        LatestVersion = number,
        ActiveVersion = activate ? number : ActiveVersion,
        UpdatedAt = version.CreatedAt,
    };

    /// <summary>The workflow once its stored <paramref name="version"/> is made the active one (a rollback, or a version uploaded inactive).</summary>
    public WorkflowDocument Activated(WorkflowVersionDocument version, DateTimeOffset at) => this with
    {
        Name = version.Name,
        Description = Values.JsonText.ParseStored(version.DefinitionJson)?["description"] is System.Text.Json.Nodes.JsonValue text
            && text.GetValueKind() == System.Text.Json.JsonValueKind.String ? text.GetValue<string>() : null,
        ActiveVersion = version.VersionNumber,
        UpdatedAt = at,
    };
}

/// <summary>One immutable version of a workflow, kept as the JSON that was uploaded.</summary>
public sealed record WorkflowVersionDocument(
    string WorkflowId,
    string TenantId,
    int VersionNumber,
    string Name,
    string DefinitionJson,
    DateTimeOffset CreatedAt);

/// <summary>What a new version brings: its definition, and the name and description the workflow takes when it is activated.</summary>
public sealed record NewWorkflowVersion(string Name, string? Description, string DefinitionJson, DateTimeOffset CreatedAt);

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

/// <summary>A run's timer: at <see cref="DueAt"/> a turn of its own continues the run at <see cref="ContinueAt"/>, unless a turn came first.</summary>
public sealed record RunTimer(DateTimeOffset DueAt, RunTimerKind Kind, string NodeId, string ContinueAt);

/// <summary>
/// A turn accepted for a worker to run: its recorded `run_input` (read again when it runs, as replays do), who sent
/// it, and the turn number its acceptance promised (the run's turns, plus those running and queued ahead of it).
/// </summary>
public sealed record QueuedTurn(string Id, int TurnNumber, JsonObject Input, string? RunBy, DateTimeOffset AcceptedAt);

/// <summary>One event of a run, keyed (run_id, seq). Its type-specific fields are flat on the wire, beside the common ones.</summary>
public sealed record RunEvent(string RunId, long Seq, int TurnNumber, RunEventType Type, string? NodeId, DateTimeOffset Timestamp, JsonObject Fields);

/// <summary>One accepted turn as an input/output pair: what the client sent, and the outcome with the seq range of its events.</summary>
/// <remarks>
/// The run as this turn left it (the checkpoint that forks start from) is either <see cref="StateAfter"/>, whole, or
/// <see cref="Changes"/> against the turn before; <see cref="Runs.Checkpoints"/> decides which and rebuilds either.
/// </remarks>
public sealed record TurnDocument(
    string RunId,
    int TurnNumber,
    JsonObject Input,
    JsonObject Output,
    long FirstSeq,
    long LastSeq,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    RunDocument? StateAfter = null,
    JsonObject? Changes = null);

/// <summary>
/// Everything one turn writes, in one transaction: the run if the stored one is still at <see cref="ExpectedVersion"/>
/// (0: the run is new), its events, the turn record (none when the write only accepts a background turn) and, with an <see cref="Answer"/>, the answer under its idempotency
/// key, which the answer's owner must still hold, and the turn's webhook deliveries.
/// </summary>
public sealed record TurnCommit(
    RunDocument Run,
    long ExpectedVersion,
    IReadOnlyList<RunEvent> Events,
    TurnDocument? Turn,
    IdempotentAnswer? Answer = null,
    IReadOnlyList<Webhooks.WebhookDelivery>? Deliveries = null)
{
    /// <summary>The webhook deliveries of the turn (the outbox), inserted in the same transaction.</summary>
    public IReadOnlyList<Webhooks.WebhookDelivery> Deliveries { get; init; } = Deliveries ?? [];

    /// <summary>
    /// The files sent with the turn, made the run's in the same transaction (their pieces were stored as they arrived).
    /// A file already the run's (a queued turn's, committed once when accepted and again when run) is left as it is.
    /// </summary>
    public IReadOnlyList<Files.StoredFile> Files { get; init; } = [];

    /// <summary>
    /// The run as stored JSON, written once per commit for the store and for this server's copy of it
    /// (<see cref="Turns.RecentRuns"/>). A commit is never copied with another run.
    /// </summary>
    public string RunJson { get; } = JsonSerializer.Serialize(Run, DocumentJson.Options);
}

public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

/// <summary>Which runs to list; every filter is optional and they combine with AND. Newest first.</summary>
public sealed record RunQuery
{
    public string? WorkflowId { get; init; }

    public IReadOnlyList<RunStatus> Statuses { get; init; } = [];

    public string? RunBy { get; init; }

    public DateTimeOffset? CreatedFrom { get; init; }

    public DateTimeOffset? CreatedTo { get; init; }

    /// <summary>Matches runs whose workflow's name contains this text, ignoring case.</summary>
    public string? WorkflowNameContains { get; init; }

    /// <summary>Matches runs that have every one of these labels (`name=value`, <see cref="Runs.RunLabels"/>).</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>Deleted runs are left out unless this is set (admins only; see <see cref="Turns.RunScope"/>).</summary>
    public bool IncludeDeleted { get; init; }

    public int Page { get; init; } = 1;

    public int Limit { get; init; } = 10;
}

/// <summary>Which workflows to list, newest first.</summary>
public sealed record WorkflowQuery
{
    /// <summary>Matches workflows whose name contains this text, ignoring case.</summary>
    public string? NameContains { get; init; }

    public bool IncludeDeleted { get; init; }

    public int Page { get; init; } = 1;

    public int Limit { get; init; } = 10;
}

/// <summary>A run as lists show it, with its workflow's name.</summary>
public sealed record RunSummary(RunDocument Run, string WorkflowName);
