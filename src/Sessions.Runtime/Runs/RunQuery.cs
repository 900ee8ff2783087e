namespace Sessions.Runtime.Runs;

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

    /// <summary>Deleted runs are left out unless this is set (admins only; see <see cref="RunScope"/>).</summary>
    public bool IncludeDeleted { get; init; }

    public int Page { get; init; } = 1;

    public int Limit { get; init; } = 10;
}
