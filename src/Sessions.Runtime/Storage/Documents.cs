using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Values;

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
    /// <remarks>An activation past the active version's evaluation gate (<paramref name="forced"/>) is kept in <see cref="ForcedActivations"/>.</remarks>
    public WorkflowDocument Activated(WorkflowVersionDocument version, DateTimeOffset at, ForcedActivation? forced = null) => this with
    {
        Name = version.Name,
        Description = Values.JsonText.ParseStored(version.DefinitionJson)?["description"] is System.Text.Json.Nodes.JsonValue text
            && text.GetValueKind() == System.Text.Json.JsonValueKind.String ? text.GetValue<string>() : null,
        ActiveVersion = version.VersionNumber,
        UpdatedAt = at,
        ForcedActivations = forced is null ? ForcedActivations : [.. ForcedActivations ?? [], forced],
    };

    /// <summary>Every activation an admin forced past an evaluation gate, oldest first; null when there was none.</summary>
    public IReadOnlyList<ForcedActivation>? ForcedActivations { get; init; }
}

/// <summary>An admin's activation of a version that the active version's evaluation gate refused: who, when, and why it was refused.</summary>
public sealed record ForcedActivation(int VersionNumber, string By, DateTimeOffset At, string Refusal);

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
    IReadOnlyList<WebhookDelivery>? Deliveries = null)
{
    /// <summary>The webhook deliveries of the turn (the outbox), inserted in the same transaction.</summary>
    public IReadOnlyList<WebhookDelivery> Deliveries { get; init; } = Deliveries ?? [];

    /// <summary>
    /// The files sent with the turn, made the run's in the same transaction (their pieces were stored as they arrived).
    /// A file already the run's (a queued turn's, committed once when accepted and again when run) is left as it is.
    /// </summary>
    public IReadOnlyList<StoredFile> Files { get; init; } = [];

    /// <summary>
    /// The run as stored JSON, written once per commit for the store and for this server's copy of it
    /// (<see cref="Turns.RecentRuns"/>). A commit is never copied with another run.
    /// </summary>
    public string RunJson { get; } = JsonSerializer.Serialize(Run, DocumentJson.Options);
}

public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

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
