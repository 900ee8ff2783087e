using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Batches;

namespace Sessions.Api.Endpoints;

/// <summary>Batches: one run per input item, started by the work queue, read back with progress and results.</summary>
public static class BatchEndpoints
{
    private const int ItemsPerRead = 500;

    public static RouteGroupBuilder MapBatches(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/workflows/{workflow_id}/batches", CreateBatch)
            .WithTags("Batches")
            .WithName("CreateBatch")
            .WithSummary("Start one run per input item: a JSON array of objects, or a multipart CSV or JSON Lines file; 202 with the batch")
            .WithDescription("Each item's fields are its run's dynamic_variables. The work queue starts at most max_concurrency (query, 1 to 256, default Sessions:Batches:DefaultConcurrency) items at a time, each run's first turn under an idempotency key of its own, so an item makes one run however often its server dies. version_number (query) pins the version. Location: /v1/batches/{batch_id}.")
            .Accepts<JsonElement>("application/json", MultipartTurn.MediaType)
            .Produces<BatchResponse>(StatusCodes.Status202Accepted)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge)
            .RequireAuthorization(Policies.Editor);

        var group = routes.MapGroup("/v1/batches").WithTags("Batches");
        group.MapGet("/{batch_id}", GetBatch)
            .WithName("GetBatch")
            .WithSummary("A batch with its progress and each item's run, status, output and error")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{batch_id}/results", GetResults)
            .WithName("GetBatchResults")
            .WithSummary("The batch's items as JSON Lines, one { index, status, run_id, run_status, output, error } per line, in order")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapPost("/{batch_id}/cancel", CancelBatch)
            .WithName("CancelBatch")
            .WithSummary("Start no more of its items, and cancel the runs of items that wait for input")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Editor);

        return group;
    }

    private static async Task<Accepted<BatchResponse>> CreateBatch(
        [FromRoute(Name = "workflow_id")] string workflowId, HttpRequest request, RequestBody body, BatchService batches, Caller caller, CancellationToken ct,
        [FromQuery(Name = "max_concurrency")] string? maxConcurrency = null, [FromQuery(Name = "version_number")] string? versionNumber = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var version = RouteValues.VersionNumberOrThrow(versionNumber);
        int? concurrency = maxConcurrency is null ? null
            : int.TryParse(maxConcurrency, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 256 ? n
            : throw new Sessions.Runtime.Errors.DomainException(Sessions.Runtime.Errors.ErrorKind.BadRequest, Sessions.Runtime.Errors.ProblemCodes.InvalidRequest, "Invalid query parameter", "'max_concurrency' is a whole number from 1 to 256.")
                .With("parameter", "max_concurrency");
        var items = await BatchInput.ReadAsync(request, body, batches.MaxItems, ct);
        var created = await batches.CreateAsync(caller.Scope, caller.Principal, caller.RunByFor(null), id, version, concurrency, items, ct);
        return TypedResults.Accepted($"/v1/batches/{created.Batch.Id}", BatchResponse.From(created));
    }

    private static async Task<Ok<BatchResponse>> GetBatch([FromRoute(Name = "batch_id")] string batchId, BatchService batches, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(batchId, "batch_id");
        var view = await batches.GetAsync(caller.Scope, id, ct);
        var items = new List<BatchItem>();
        for (var after = -1; ;)
        {
            var page = await batches.ListItemsAsync(caller.Scope, id, after, ItemsPerRead, ct);
            items.AddRange(page);
            if (page.Count < ItemsPerRead)
            {
                break;
            }

            after = page[^1].Index;
        }

        return TypedResults.Ok(BatchResponse.From(view, items));
    }

    /// <summary>Written a page of items at a time: however large the batch, one page of it is in memory.</summary>
    private static async Task GetResults(
        [FromRoute(Name = "batch_id")] string batchId, HttpContext http, BatchService batches, Caller caller, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var id = RouteValues.ObjectIdOrThrow(batchId, "batch_id");
        await batches.GetAsync(caller.Scope, id, http.RequestAborted);
        http.Response.ContentType = "application/x-ndjson; charset=utf-8";
        for (var after = -1; ;)
        {
            var page = await batches.ListItemsAsync(caller.Scope, id, after, ItemsPerRead, http.RequestAborted);
            var lines = new StringBuilder();
            foreach (var item in page)
            {
                lines.Append(JsonSerializer.Serialize(BatchItemContract.From(item), json.Value.SerializerOptions)).Append('\n');
            }

            await http.Response.WriteAsync(lines.ToString(), http.RequestAborted);
            if (page.Count < ItemsPerRead)
            {
                break;
            }

            after = page[^1].Index;
        }
    }

    private static async Task<Ok<BatchResponse>> CancelBatch([FromRoute(Name = "batch_id")] string batchId, BatchService batches, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(BatchResponse.From(await batches.CancelAsync(caller.Scope, RouteValues.ObjectIdOrThrow(batchId, "batch_id"), ct)));
}
