using Microsoft.AspNetCore.Mvc;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Http;

/// <summary>The list filters, bound as strings so that each bad value gets our own problem code.</summary>
internal sealed class RunFilters
{
    [FromQuery(Name = "status")]
    public string?[]? Status { get; init; }

    [FromQuery(Name = "run_by")]
    public string? RunBy { get; init; }

    [FromQuery(Name = "created_after")]
    public string? CreatedAfter { get; init; }

    [FromQuery(Name = "created_before")]
    public string? CreatedBefore { get; init; }

    [FromQuery(Name = "q")]
    public string? WorkflowName { get; init; }

    [FromQuery(Name = "origin_instance")]
    public string? OriginInstance { get; init; }

    [FromQuery(Name = "origin_zone")]
    public string? OriginZone { get; init; }

    [FromQuery(Name = "origin_reference")]
    public string? OriginReference { get; init; }

    /// <summary>For the `metadata.<key>` filters, whose names no parameter can list.</summary>
    public HttpRequest Request { get; init; } = null!;

    /// <summary>The filters named in a body (an evaluation's `runs`) rather than a query string.</summary>
    private IQueryCollection? named;

    /// <summary>The names the filters take, besides `metadata.<key>`: what a body that names filters may use.</summary>
    public static readonly string[] Names = ["status", "run_by", "created_after", "created_before", "q", "origin_instance", "origin_zone", "origin_reference"];

    /// <summary>The filters as a body names them, with the same names and the same checks as the run list's query.</summary>
    public static RunFilters From(IQueryCollection query) => new()
    {
        Status = query["status"].ToArray(),
        RunBy = query["run_by"],
        CreatedAfter = query["created_after"],
        CreatedBefore = query["created_before"],
        WorkflowName = query["q"],
        OriginInstance = query["origin_instance"],
        OriginZone = query["origin_zone"],
        OriginReference = query["origin_reference"],
        named = query,
    };

    [FromQuery(Name = "page")]
    public string? Page { get; init; }

    [FromQuery(Name = "limit")]
    public string? Limit { get; init; }

    public RunQuery ToQuery(string? workflowId)
    {
        var (page, limit) = RouteValues.PagingOrThrow(Page, Limit);
        return new RunQuery
        {
            WorkflowId = workflowId,
            Statuses = RouteValues.StatusesOrThrow(Status),
            RunBy = RouteValues.TextOrThrow(RunBy, "run_by"),
            CreatedFrom = RouteValues.TimestampOrThrow(CreatedAfter, "created_after"),
            CreatedTo = RouteValues.TimestampOrThrow(CreatedBefore, "created_before"),
            WorkflowNameContains = RouteValues.TextOrThrow(WorkflowName, "q"),
            Labels = Labels(),
            Page = page,
            Limit = limit,
        };
    }

    /// <summary>`origin_*=value` and `metadata.<key>=value`, each once, as the labels a run must have.</summary>
    private List<string> Labels()
    {
        var labels = new List<string>();
        foreach (var (name, value) in new[] { (RunLabels.OriginInstance, OriginInstance), (RunLabels.OriginZone, OriginZone), (RunLabels.OriginReference, OriginReference) })
        {
            if (value is not null)
            {
                labels.Add(RunLabels.Label(name, LabelValueOrThrow(value, name)));
            }
        }

        foreach (var (name, values) in (named ?? Request.Query).Where(q => q.Key.StartsWith(RunLabels.MetadataPrefix, StringComparison.Ordinal)))
        {
            if (!RunLabels.IsValidKey(name[RunLabels.MetadataPrefix.Length..]) || values.Count != 1)
            {
                throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid metadata filter", $"'{name}' is metadata.<key> once, with a key of letters, digits, '_', '-' or '.'.")
                    .With("parameter", name);
            }

            labels.Add(RunLabels.Label(name, LabelValueOrThrow(values[0]!, name)));
        }

        return labels;
    }

    private static string LabelValueOrThrow(string value, string parameter) =>
        value.Length is > 0 and <= RunLabels.MaxValueLength && !value.Contains('\0')
            ? value
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid filter", $"'{parameter}' is 1 to {RunLabels.MaxValueLength} characters.")
                .With("parameter", parameter);
}
