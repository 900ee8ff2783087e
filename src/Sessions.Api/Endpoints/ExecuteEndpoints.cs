using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Endpoints;

public static class ExecuteEndpoints
{
    public static RouteGroupBuilder MapExecute(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/workflows/{workflow_id}").WithTags("Execute");

        group.MapPost("/execute", Execute)
            .WithName("Execute")
            .WithSummary("Take one turn: start a run, answer it, pause it or stop it")
            .WithDescription("Without run_id a new run is created and stepped until it waits, pauses or ends. With run_id the run continues with run_input.user_message. Every rejected request leaves the run exactly as it was.")
            .Accepts<ExecuteRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        return group;
    }

    private static async Task<Ok<ExecuteResponse>> Execute(
        [FromRoute(Name = "workflow_id")] string workflowId,
        HttpRequest request,
        RequestBody body,
        TurnEngine engine,
        ITenantContext tenant,
        CancellationToken ct,
        [FromQuery(Name = "version_number")] string? versionNumber = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var queryVersion = RouteValues.VersionNumberOrThrow(versionNumber);
        var turn = ExecuteRequestParser.Parse(await body.ReadJsonAsync(request, ct), tenant.TenantId, id, queryVersion);
        var outcome = await engine.ExecuteAsync(turn, ct);
        return TypedResults.Ok(ExecuteResponse.From(outcome));
    }
}
