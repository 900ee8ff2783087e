using System.Globalization;

namespace Sessions.Client;

/// <summary>Which runs a list or its counts take: all given conditions must hold.</summary>
public sealed record RunFilter
{
    /// <summary>Any of these statuses.</summary>
    public IReadOnlyList<RunStatus>? Statuses { get; init; }

    public string? RunBy { get; init; }

    /// <summary>For `GET /v1/runs`: runs of this workflow.</summary>
    public string? WorkflowId { get; init; }

    public DateTimeOffset? CreatedAfter { get; init; }

    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Text in the workflow's name, any case.</summary>
    public string? NameContains { get; init; }

    public string? OriginInstance { get; init; }

    public string? OriginZone { get; init; }

    public string? OriginReference { get; init; }

    /// <summary>Labels the first turn gave (`run_input.metadata`), each to match exactly.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    internal string ToQuery()
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parts.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(value)}");
            }
        }

        Add("status", Statuses is { Count: > 0 } statuses ? string.Join(',', statuses.Select(RunStatusNames.ToWire)) : null);
        Add("run_by", RunBy);
        Add("workflow_id", WorkflowId);
        Add("created_after", CreatedAfter?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Add("created_before", CreatedBefore?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Add("q", NameContains);
        Add("origin_instance", OriginInstance);
        Add("origin_zone", OriginZone);
        Add("origin_reference", OriginReference);
        foreach (var (key, value) in Metadata ?? new Dictionary<string, string>())
        {
            Add($"metadata.{key}", value);
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }
}
