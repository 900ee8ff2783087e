using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Primitives;
using Sessions.Api.Http;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Evaluations;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Validation;

namespace Sessions.Api.Contracts;

/// <summary>Which runs an evaluation replays on the version, and how many at once.</summary>
public sealed record EvaluationRequest(
    [property: Description("The run list's filters by their query names (status, run_by, created_after, created_before, q, origin_instance, origin_zone, origin_reference, metadata.<key>), each a string (status also an array); default: every run of the workflow. Forks and replays are never chosen.")] JsonObject? Runs = null,
    [property: Description("How many runs to replay, 1 to 1000 (default 100): the newest that match, or a random sample of them.")] int? Limit = null,
    [property: Description("Replay a random sample of the matching runs instead of the newest.")] bool? Sample = null,
    [property: Description("Replays at once, 1 to 64 (default 4).")] int? MaxConcurrency = null) : ICheckedBody
{
    public const int DefaultLimit = 100;

    public void Check(List<FieldError> errors)
    {
        if (Limit is < 1 or > EvaluationService.MaxRuns)
        {
            errors.Add(new("$.limit", $"limit is a whole number from 1 to {EvaluationService.MaxRuns}, not {Limit}."));
        }

        if (MaxConcurrency is < 1 or > 64)
        {
            errors.Add(new("$.max_concurrency", $"max_concurrency is a whole number from 1 to 64, not {MaxConcurrency}."));
        }

        foreach (var (name, value) in Runs ?? [])
        {
            if (!RunFilters.Names.Contains(name) && !name.StartsWith(RunLabels.MetadataPrefix, StringComparison.Ordinal))
            {
                errors.Add(new($"$.runs.{name}", $"\"{Runtime.Errors.ProblemText.Shorten(name)}\" is not a run filter; the filters are {string.Join(", ", RunFilters.Names)} and metadata.<key>."));
            }
            else if (Text(value) is null && !(name == "status" && value is JsonArray statuses && statuses.All(s => Text(s) is not null)))
            {
                errors.Add(new($"$.runs.{name}", $"{name} is a string{(name == "status" ? " or an array of strings" : "")}."));
            }
        }
    }

    /// <summary>The filters as the run list reads them from its query string.</summary>
    internal RunFilters Filters() => RunFilters.From(new Microsoft.AspNetCore.Http.QueryCollection((Runs ?? []).ToDictionary(
        p => p.Key,
        p => p.Value is JsonArray many ? new StringValues([.. many.Select(Text)]) : new StringValues(Text(p.Value)))));

    /// <summary>A filter's value as text: a string as it is; a number or boolean as written (a label may be either).</summary>
    private static string? Text(JsonNode? value) => value is JsonValue v && v.GetValueKind() is System.Text.Json.JsonValueKind.String
        ? v.GetValue<string>()
        : value is JsonValue other && other.GetValueKind() is System.Text.Json.JsonValueKind.Number or System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False
            ? other.ToJsonString()
            : null;
}

/// <summary>One difference in one replayed run: the turn, the node, the field.</summary>
public sealed record EvaluationDifferenceContract(int Turn, string? NodeId, string Field);

/// <summary>One source run's replay: the replay run, the outcome, where it first diverged, and each difference.</summary>
public sealed record EvaluationResultContract(
    int Index,
    string SourceRunId,
    [property: Description("pending, running, completed (replayed) or failed (could not be replayed: see error).")] string Status,
    string? ReplayRunId,
    [property: Description("unchanged, diverged, refused, stopped; null until replayed, or when it could not be.")] string? Outcome,
    int? FirstDivergentTurn,
    IReadOnlyList<EvaluationDifferenceContract> Differences,
    string? Error)
{
    public static EvaluationResultContract From(BatchItem item) => new(
        item.Index,
        item.Input["source_run_id"]!.GetValue<string>(),
        WireNames<BatchItemState>.Of(item.State),
        item.RunId,
        item.Output?["outcome"]?.GetValue<string>(),
        item.Output?["first_divergent_turn"]?.GetValue<int>(),
        (item.Output?["differences"]?.AsArray() ?? []).Select(d => new EvaluationDifferenceContract(d!["turn"]!.GetValue<int>(), d["node_id"]?.GetValue<string>(), d["field"]!.GetValue<string>())).ToList(),
        item.Error);
}

/// <summary>An evaluation: its version, selection and progress; once finished, its summary; when read alone, a page of its results.</summary>
public sealed record EvaluationResponse(
    string EvaluationId,
    string WorkflowId,
    int VersionNumber,
    [property: Description("running, completed or cancelled.")] string Status,
    int MaxConcurrency,
    [property: Description("How its runs were chosen, as asked.")] JsonObject? Selection,
    BatchProgressContract Progress,
    DateTime CreatedAt,
    DateTime? FinishedAt,
    [property: Description("Once every run is replayed.")] EvaluationSummary? Summary,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("A page of per-run results, in order (GET of one evaluation).")] IReadOnlyList<EvaluationResultContract>? Results = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("The `after` that reads the next page of results; absent on the last.")] int? NextAfter = null)
{
    public static EvaluationResponse From(EvaluationView view, bool withResults) => new(
        view.Evaluation.Id,
        view.Evaluation.WorkflowId,
        view.Evaluation.VersionNumber!.Value,
        WireNames<BatchStatus>.Of(view.Evaluation.Status),
        view.Evaluation.MaxConcurrency,
        view.Evaluation.Selection?.DeepClone().AsObject(),
        BatchProgressContract.From(new BatchView(view.Evaluation, view.Counts)),
        view.Evaluation.CreatedAt.UtcDateTime,
        view.Evaluation.FinishedAt?.UtcDateTime,
        view.Summary,
        withResults ? view.Results.Select(EvaluationResultContract.From).ToList() : null,
        withResults ? view.NextAfter : null);
}

/// <summary>A workflow's evaluations, newest first.</summary>
public sealed record EvaluationListResponse(IReadOnlyList<EvaluationResponse> Items);
