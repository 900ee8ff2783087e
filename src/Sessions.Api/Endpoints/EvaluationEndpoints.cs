using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Evaluations;

namespace Sessions.Api.Endpoints;

/// <summary>Version evaluations: real runs of a workflow replayed with recorded calls on a version, in the background.</summary>
public static class EvaluationEndpoints
{
    private const int DefaultResults = 100;

    public static void MapEvaluations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/workflows/{workflow_id}").WithTags("Evaluations");
        group.MapPost("/versions/{version_number}/evaluations", CreateEvaluation)
            .WithName("CreateEvaluation")
            .WithSummary("Replay a selection of the workflow's runs on this version with recorded calls, in the background; 202 with the evaluation")
            .WithDescription("Runs are chosen by the run list's filters (runs), newest first or a random sample, at most limit (1 to 1000, default 100); forks and replays are never chosen. Each is replayed as POST /v1/runs/{run_id}/replay does with calls recorded and on_changed stop, at most max_concurrency at a time. Location: the evaluation.")
            .Accepts<EvaluationRequest>("application/json")
            .Produces<EvaluationResponse>(StatusCodes.Status202Accepted)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);

        group.MapGet("/versions/{version_number}/evaluations/{evaluation_id}", GetEvaluation)
            .WithName("GetEvaluation")
            .WithSummary("An evaluation's progress, its summary once finished, and a page of per-run results (after, limit 1 to 500)")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/evaluations", ListEvaluations)
            .WithName("ListEvaluations")
            .WithSummary("The workflow's evaluations, newest first, with their progress and summaries")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
    }

    private static async Task<Accepted<EvaluationResponse>> CreateEvaluation(
        [FromRoute(Name = "workflow_id")] string workflowId, [FromRoute(Name = "version_number")] string versionNumber,
        HttpRequest request, RequestBody body, EvaluationService evaluations, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var version = RouteValues.VersionNumberOrThrow(versionNumber)!.Value;
        var asked = await body.ReadAsAsync<EvaluationRequest>(request, ct);
        var selection = new System.Text.Json.Nodes.JsonObject
        {
            ["runs"] = asked.Runs?.DeepClone() ?? new System.Text.Json.Nodes.JsonObject(),
            ["limit"] = asked.Limit ?? EvaluationRequest.DefaultLimit,
            ["sample"] = asked.Sample ?? false,
        };
        var created = await evaluations.CreateAsync(
            caller.Scope, caller.Principal, id, version, asked.Filters().ToQuery(id), asked.Limit ?? EvaluationRequest.DefaultLimit, asked.Sample ?? false, asked.MaxConcurrency, selection, ct);
        return TypedResults.Accepted($"/v1/workflows/{id}/versions/{version}/evaluations/{created.Evaluation.Id}", EvaluationResponse.From(created, withResults: false));
    }

    private static async Task<Ok<EvaluationResponse>> GetEvaluation(
        [FromRoute(Name = "workflow_id")] string workflowId, [FromRoute(Name = "version_number")] string versionNumber, [FromRoute(Name = "evaluation_id")] string evaluationId,
        EvaluationService evaluations, Caller caller, CancellationToken ct, [FromQuery(Name = "after")] string? after = null, [FromQuery(Name = "limit")] string? limit = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var version = RouteValues.VersionNumberOrThrow(versionNumber)!.Value;
        var view = await evaluations.GetAsync(
            caller.Scope, id, version, RouteValues.ObjectIdOrThrow(evaluationId, "evaluation_id"), Whole(after, "after", -1, EvaluationService.MaxRuns, -1), Whole(limit, "limit", 1, 500, DefaultResults), ct);
        return TypedResults.Ok(EvaluationResponse.From(view, withResults: true));
    }

    private static async Task<Ok<EvaluationListResponse>> ListEvaluations(
        [FromRoute(Name = "workflow_id")] string workflowId, EvaluationService evaluations, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(new EvaluationListResponse(
            (await evaluations.ListAsync(caller.Scope, RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"), ct)).Select(v => EvaluationResponse.From(v, withResults: false)).ToList()));

    private static int Whole(string? text, string parameter, int least, int most, int fallback) =>
        text is null ? fallback
        : int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= least && n <= most ? n
        : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", $"'{parameter}' is a whole number from {least} to {most}, not \"{ProblemText.Shorten(text)}\".")
            .With("parameter", parameter);
}
