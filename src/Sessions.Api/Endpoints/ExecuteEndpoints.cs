using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;
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
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/execute/stream", ExecuteStreaming)
            .WithName("ExecuteStreaming")
            .WithSummary("Take one turn and stream its events as they happen (text/event-stream)")
            .WithDescription("Same body as execute. Each event is an SSE message with id = seq; `ping` while a node works; a final `result` whose data is exactly execute's JSON answer, or `error` with a problem if the turn fails after the stream began. A request refused before anything happened answers with its status and problem, as execute does. The turn runs to the end even if the client disconnects; reconnect to /v1/runs/{run_id}/events/stream with Last-Event-ID.")
            .Accepts<ExecuteRequest>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity);

        return group;
    }

    private static async Task ExecuteStreaming(
        [FromRoute(Name = "workflow_id")] string workflowId,
        HttpContext http,
        RequestBody body,
        TurnEngine engine,
        ITenantContext tenant,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "version_number")] string? versionNumber = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var queryVersion = RouteValues.VersionNumberOrThrow(versionNumber);
        var turn = ExecuteRequestParser.Parse(await body.ReadJsonAsync(http.Request, http.RequestAborted), tenant.TenantId, id, queryVersion);

        var produced = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var observer = new TurnObserver
        {
            OnEvent = e => produced.Writer.TryWrite(e),
            OnDelta = (nodeId, text) => produced.Writer.TryWrite(new LlmDelta(nodeId, text)),
        };

        // Detached from the request: once accepted, a turn runs to its end whether or not the client stays.
        var running = Task.Run(() => engine.ExecuteAsync(turn, CancellationToken.None, observer));
        _ = running.ContinueWith(_ => produced.Writer.TryComplete(), TaskScheduler.Default);

        var stream = new ServerSentEvents(http.Response, json);
        var ping = TimeSpan.FromSeconds(options.Value.StreamPingSeconds);
        while (true)
        {
            var ready = produced.Reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(ready, Task.Delay(ping)) != ready)
            {
                await stream.PingAsync();
                continue;
            }

            if (!await ready)
            {
                break;
            }

            while (produced.Reader.TryRead(out var item))
            {
                // Deltas carry no id: they are not stored, so Last-Event-ID never points at one.
                await (item is RunEvent e
                    ? stream.WriteAsync(null, EventContract.From(e), e.Seq)
                    : stream.WriteAsync("llm_delta", item));
            }
        }

        try
        {
            var outcome = await running;
            await stream.WriteAsync("result", ExecuteResponse.From(outcome));
        }
        catch (Exception failure) when (stream.Started && ProblemMapping.ToProblem(failure, http) is { } problem)
        {
            await stream.WriteAsync("error", problem);
        }
    }

    /// <summary>Partial model text on the stream endpoint; the `llm` event that follows carries the whole reply.</summary>
    private sealed record LlmDelta(string NodeId, string Text);

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
        // Not the request's token: once accepted, a turn runs to its end even if the client gives up waiting.
        var outcome = await engine.ExecuteAsync(turn, CancellationToken.None);
        return TypedResults.Ok(ExecuteResponse.From(outcome));
    }
}
