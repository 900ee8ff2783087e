using Sessions.Api.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using Sessions.Runtime.Branching;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.History;
using Sessions.Runtime.Lifecycle;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Webhooks;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Endpoints;

/// <summary>Run history for support staff and dashboards: list, read, page events, count, cancel, transcript.</summary>
public static class RunEndpoints
{
    public static RouteGroupBuilder MapRuns(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/runs").WithTags("Runs");

        group.MapGet("/", ListRuns)
            .WithName("ListRuns")
            .WithSummary("List runs, newest first, with filters")
            .ProducesProblems(StatusCodes.Status400BadRequest);

        group.MapGet("/stats", RunStats)
            .WithName("RunStats")
            .WithSummary("Counts by status of the tenant's runs that match the same filters as the list")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden)
            .RequireAuthorization(Policies.Editor);

        group.MapGet("/{run_id}", GetRun)
            .WithName("GetRun")
            .WithSummary("A run with its state, its turns as input/output pairs, and its node executions")
            .Produces<RunDetailsResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/turns", GetTurns)
            .WithName("GetRunTurns")
            .WithSummary("A page of a run's turns, oldest first, each with its input, output and events")
            .Produces<TurnPageResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/turns/{turn_number}", GetTurn)
            .WithName("GetRunTurn")
            .WithSummary("One turn: its input, answer and events, the run's state after it, and the variables it changed")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/turns/{turn_number}/result", JoinTurn)
            .WithName("JoinRunTurn")
            .WithSummary("A turn's answer, waiting up to wait_seconds for it: 200 with exactly execute's answer (or the problem it was refused with), or 202 while it runs")
            .WithDescription("For background turns (execute with Prefer: respond-async) and for clients that gave up waiting for a synchronous turn. wait_seconds (0 to 120, default 0) waits for the turn to finish. 202 answers { run_id, status: running, turn_number, message, progress }. A turn number the run will not reach is 404 turn_not_found, or 409 run_terminal once the run has ended.")
            .Produces<ExecuteResponse>(StatusCodes.Status200OK, "application/json")
            .Produces<BackgroundTurnResponse>(StatusCodes.Status202Accepted, "application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);

        group.MapGet("/{run_id}/events", GetEvents)
            .WithName("GetRunEvents")
            .WithSummary("A page of a run's events after a seq")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/events/stream", FollowEvents)
            .WithName("FollowRunEvents")
            .WithSummary("Replay a run's events after Last-Event-ID (or after_seq), then follow it live (text/event-stream)")
            .WithDescription("Each event is an SSE message with id = seq, so a client that reconnects with Last-Event-ID misses nothing and sees nothing twice. `ping` while the run is quiet; `end` once a finished run has sent its last event.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/transcript", GetTranscript)
            .WithName("GetRunTranscript")
            .WithSummary("The conversation as a person reads it, as JSON or Markdown")
            .Produces<Transcript>(StatusCodes.Status200OK, "application/json")
            .Produces<string>(StatusCodes.Status200OK, "text/markdown")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{run_id}/webhook-deliveries", GetDeliveries)
            .WithName("GetRunWebhookDeliveries")
            .WithSummary("The run's webhook deliveries, oldest first, each with every attempt (time, status code, duration, error)")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapPost("/{run_id}/webhook-deliveries/{delivery_id}/redeliver", Redeliver)
            .WithName("RedeliverWebhook")
            .WithSummary("Make a delivery again, from now, whatever came of it; its attempts keep the same id")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Editor);

        group.MapGet("/{run_id}/files/{file_id}", GetFile)
            .WithName("GetRunFile")
            .WithSummary("A file sent with one of the run's turns, streamed back with its content type")
            .WithDescription("Served as an attachment (Content-Disposition) with X-Content-Type-Options: nosniff, its ETag the file's sha256; whoever may read the run may read its files.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapDelete("/{run_id}", DeleteRun)
            .WithName("DeleteRun")
            .WithSummary("Delete a run: hidden from every read, list and count at once (admins see it with include_deleted=true), erased by the next purge; it takes no more turns")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/purge", PurgeRuns)
            .WithName("PurgeRuns")
            .WithSummary("Erase every deleted run of the caller's tenant and every finished one past its workflow's retention_days, with everything stored for it")
            .WithDescription("Each run is erased in one transaction: its document, events, turns, labels, the answers stored under idempotency keys for it and its webhook deliveries. Answers { purged_runs }.")
            .ProducesProblems(StatusCodes.Status403Forbidden)
            .RequireAuthorization(Policies.Admin);

        group.MapPost("/cancel", CancelRuns)
            .WithName("CancelRuns")
            .WithSummary("Cancel runs by id (editor), or every unfinished run of a workflow (admin); reports an outcome per run")
            .Accepts<CancelRunsRequest>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/{run_id}/fork", ForkRun)
            .WithName("ForkRun")
            .WithSummary("Start a new run from the state a run had after one of its turns")
            .Accepts<ForkRequest>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/{run_id}/replay", ReplayRun)
            .WithName("ReplayRun")
            .WithSummary("Re-send a run's inputs to a new run on a version, and report where it diverges, turn by turn")
            .WithDescription("Model and HTTP calls are answered from the source run's recording (calls: recorded, the default) or made again (live). A recorded replay meets a call whose request changed, or that the source never made, as a divergence, then stops before it (on_changed: stop, the default; the report's stopped says where) or makes it (live). Each diverged turn says whether its difference comes from the definition or from a live call.")
            .Accepts<ReplayRequest>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);

        var byWorkflow = routes.MapGroup("/v1/workflows/{workflow_id}/runs").WithTags("Runs");

        byWorkflow.MapGet("/", ListWorkflowRuns)
            .WithName("ListWorkflowRuns")
            .WithSummary("List one workflow's runs, newest first, with filters")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        byWorkflow.MapGet("/stats", WorkflowRunStats)
            .WithName("WorkflowRunStats")
            .WithSummary("Counts by status of one workflow's runs that match the same filters as the list")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Editor);

        return group;
    }

    private static async Task<Ok<RunListResponse>> ListRuns(
        [AsParameters] RunFilters filters, RunFacade runs, Caller caller, CancellationToken ct,
        [FromQuery(Name = "workflow_id")] string? workflowId = null)
    {
        var query = filters.ToQuery(workflowId is null ? null : RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"));
        return TypedResults.Ok(await ListAsync(runs, caller, query, ct));
    }

    private static async Task<Ok<RunListResponse>> ListWorkflowRuns(
        [FromRoute(Name = "workflow_id")] string workflowId, [AsParameters] RunFilters filters, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = await runs.RequireWorkflowAsync(caller.Scope, RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"), ct);
        return TypedResults.Ok(await ListAsync(runs, caller, filters.ToQuery(id), ct));
    }

    private static async Task<Ok<RunStatsResponse>> RunStats(
        [AsParameters] RunFilters filters, RunFacade runs, Caller caller, CancellationToken ct, [FromQuery(Name = "workflow_id")] string? workflowId = null)
    {
        var id = workflowId is null ? null : RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        return TypedResults.Ok(RunStatsResponse.From(id, await runs.CountByStatusAsync(caller.Scope, filters.ToQuery(id), ct)));
    }

    private static async Task<Ok<RunStatsResponse>> WorkflowRunStats(
        [FromRoute(Name = "workflow_id")] string workflowId, [AsParameters] RunFilters filters, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = await runs.RequireWorkflowAsync(caller.Scope, RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"), ct);
        return TypedResults.Ok(RunStatsResponse.From(id, await runs.CountByStatusAsync(caller.Scope, filters.ToQuery(id), ct)));
    }

    /// <summary>Written as its page of turns is read, with the response pipe's backpressure (<see cref="TurnPageWriter"/>).</summary>
    private static async Task GetRun(
        [FromRoute(Name = "run_id")] string runId, HttpContext http, RunFacade runs, Caller caller, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var details = await runs.GetDetailsAsync(caller.Scope, id, http.RequestAborted);
        await TurnPageWriter.WriteRunAsync(http.Response, json.Value.SerializerOptions, runs, details, http.RequestAborted);
    }

    private static async Task<Ok<EventPageResponse>> GetEvents(
        [FromRoute(Name = "run_id")] string runId, RunFacade runs, Caller caller, CancellationToken ct,
        [FromQuery(Name = "after_seq")] string? afterSeq = null, [FromQuery(Name = "limit")] string? limit = null)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var after = RouteValues.AfterSeqOrThrow(afterSeq);
        var size = limit is null ? 100 : RouteValues.PagingOrThrow(null, limit, maxLimit: 1000).Limit;
        var events = await runs.GetEventsAsync(caller.Scope, id, after, size + 1, ct);
        var page = events.Take(size).ToList();
        return TypedResults.Ok(new EventPageResponse(id, page.Select(EventContract.From).ToList(), page.Count > 0 ? page[^1].Seq : after, events.Count > size));
    }

    private static async Task FollowEvents(
        [FromRoute(Name = "run_id")] string runId,
        HttpContext http,
        RunFacade runs,
        Caller caller,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "after_seq")] string? afterSeq = null)
    {
        const int Batch = 500;
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var lastEventId = http.Request.Headers["Last-Event-ID"].FirstOrDefault();
        var lastSeq = lastEventId is not null
            ? long.TryParse(lastEventId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq) ? seq
                : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid Last-Event-ID", "Last-Event-ID is the seq of the last event received.")
            : RouteValues.AfterSeqOrThrow(afterSeq);
        await runs.GetRunAsync(caller.Scope, id, http.RequestAborted);

        // One read of the run and one of its events per round. The run is read first: if it is finished then, the
        // events read after it hold all it will ever have.
        var stream = new ServerSentEvents(http.Response, json);
        var ping = TimeSpan.FromSeconds(options.Value.StreamPingSeconds);
        var quietFor = TimeSpan.Zero;
        while (stream.ClientConnected && !http.RequestAborted.IsCancellationRequested)
        {
            // Taken before reading, so a commit between the read and the wait still wakes us.
            var nextCommit = runs.NextCommit(id);
            var run = await runs.FindRunAsync(caller.Scope, id, http.RequestAborted);
            var events = run is null ? [] : await runs.ReadEventsAsync(run, lastSeq, Batch, http.RequestAborted);
            foreach (var e in events)
            {
                await stream.WriteAsync(null, EventContract.From(e), e.Seq);
                lastSeq = e.Seq;
            }

            if (events.Count == Batch)
            {
                continue;
            }

            if (run is null || (RunMachine.IsTerminal(run.Status) && run.LastSeq <= lastSeq))
            {
                await stream.WriteAsync("end", new { run_id = id, status = run?.Status.ToWire(), last_seq = lastSeq });
                return;
            }

            if (events.Count > 0)
            {
                quietFor = TimeSpan.Zero;
            }
            else if (quietFor >= ping || !stream.Started)
            {
                await stream.PingAsync();
                quietFor = TimeSpan.Zero;
            }

            // Another instance's commits do not ring this process's feed, so poll as well, at most a second apart.
            var wait = TimeSpan.FromSeconds(Math.Min(1, ping.TotalSeconds));
            await Task.WhenAny(nextCommit, Task.Delay(wait, http.RequestAborted)).ContinueWith(_ => { }, TaskScheduler.Default);
            quietFor += nextCommit.IsCompleted ? TimeSpan.Zero : wait;
        }
    }

    /// <summary>Written as the page is read, with the response pipe's backpressure (<see cref="TurnPageWriter"/>).</summary>
    private static async Task GetTurns(
        [FromRoute(Name = "run_id")] string runId, HttpContext http, RunFacade runs, Caller caller, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "after_turn")] string? afterTurn = null, [FromQuery(Name = "limit")] string? limit = null)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var after = afterTurn is null ? -1
            : int.TryParse(afterTurn, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= -1 ? n
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidPaging, "Invalid paging", "after_turn is a whole number >= -1 (the turn number the page starts after).")
                .With("parameter", "after_turn");
        var size = limit is null ? RunFacade.DefaultTurnsPerPage : RouteValues.PagingOrThrow(null, limit, maxLimit: RunFacade.MaxTurnsPerPage).Limit;
        var run = await runs.GetRunAsync(caller.Scope, id, http.RequestAborted);
        await TurnPageWriter.WriteTurnsAsync(http.Response, json.Value.SerializerOptions, runs, run, after, size, http.RequestAborted);
    }

    private static async Task<IResult> JoinTurn(
        [FromRoute(Name = "run_id")] string runId,
        [FromRoute(Name = "turn_number")] string turnNumber,
        RunFacade runs,
        Caller caller,
        CancellationToken ct,
        [FromQuery(Name = "wait_seconds")] string? waitSeconds = null)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var number = TurnNumberOrThrow(turnNumber);
        var wait = waitSeconds is null ? 0
            : int.TryParse(waitSeconds, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds <= TurnResults.MaxWaitSeconds ? seconds
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid wait_seconds", $"wait_seconds is a whole number from 0 to {TurnResults.MaxWaitSeconds}.")
                .With("parameter", "wait_seconds");
        var joined = await runs.JoinTurnAsync(caller.Scope, id, number, TimeSpan.FromSeconds(wait), ct);
        return joined.Answer is { } answer
            ? Results.Content(answer, "application/json", Encoding.UTF8)
            : Results.Json(BackgroundTurnResponse.Pending(joined.Result), statusCode: StatusCodes.Status202Accepted);
    }

    private static int TurnNumberOrThrow(string turnNumber) =>
        int.TryParse(turnNumber, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid turn number", "turn_number is a whole number >= 0.")
                .With("parameter", "turn_number");

    private static async Task<Ok<TurnDetailsResponse>> GetTurn(
        [FromRoute(Name = "run_id")] string runId, [FromRoute(Name = "turn_number")] string turnNumber, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        return TypedResults.Ok(TurnDetailsResponse.From(id, await runs.GetTurnAsync(caller.Scope, id, TurnNumberOrThrow(turnNumber), ct)));
    }

    /// <summary>
    /// Written a turn at a time as the turns are read, and flushed as the client reads (the response pipe's
    /// backpressure): a long conversation costs a page of memory, not the whole run, however slowly the client reads.
    /// </summary>
    private static async Task GetTranscript(
        [FromRoute(Name = "run_id")] string runId,
        HttpContext http,
        RunFacade runs,
        Caller caller,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "format")] string? format = null)
    {
        var ct = http.RequestAborted;
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        if (format is not (null or "json" or "markdown"))
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", "'format' is json or markdown.")
                .With("parameter", "format");
        }

        var (run, workflowName) = await runs.GetRunWithNameAsync(caller.Scope, id, ct);
        var body = http.Response.BodyWriter;
        var reader = new Transcript.Reader();
        if (format == "markdown")
        {
            http.Response.ContentType = "text/markdown; charset=utf-8";
            await body.WriteAsync(Encoding.UTF8.GetBytes(Transcript.MarkdownHeading(run, workflowName)), ct);
            await foreach (var turn in runs.ReadAllTurnsAsync(run, ct))
            {
                await body.WriteAsync(Encoding.UTF8.GetBytes(Transcript.Markdown(reader.Turn(turn))), ct);
            }

            return;
        }

        var options = json.Value.SerializerOptions;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = options.Encoder, MaxDepth = options.MaxDepth });
        writer.WriteStartObject();
        writer.WriteString("run_id", run.Id);
        writer.WriteString("workflow_id", run.WorkflowId);
        writer.WriteString("workflow_name", workflowName);
        writer.WriteNumber("version_number", run.VersionNumber);
        writer.WriteString("status", run.Status.ToWire());
        writer.WriteStartArray("turns");
        await foreach (var turn in runs.ReadAllTurnsAsync(run, ct))
        {
            JsonSerializer.Serialize(writer, reader.Turn(turn), options);
            await writer.FlushAsync(ct);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(ct);
    }

    private static async Task<Ok<WebhookDeliveriesResponse>> GetDeliveries(
        [FromRoute(Name = "run_id")] string runId, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var (run, deliveries) = await runs.GetDeliveriesAsync(caller.Scope, RouteValues.ObjectIdOrThrow(runId, "run_id"), ct);
        return TypedResults.Ok(new WebhookDeliveriesResponse(run.Id, deliveries.Select(WebhookDeliveryContract.From).ToList()));
    }

    private static async Task<Accepted<WebhookDeliveryContract>> Redeliver(
        [FromRoute(Name = "run_id")] string runId,
        [FromRoute(Name = "delivery_id")] string deliveryId,
        RunFacade runs,
        Caller caller,
        CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var again = await runs.RedeliverAsync(caller.Scope, id, RouteValues.ObjectIdOrThrow(deliveryId, "delivery_id"), ct);
        return TypedResults.Accepted($"/v1/runs/{id}/webhook-deliveries", WebhookDeliveryContract.From(again));
    }

    private static async Task<Created<ForkResponse>> ForkRun(
        [FromRoute(Name = "run_id")] string runId, HttpRequest request, RequestBody body, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var asked = await body.ReadAsAsync<ForkRequest>(request, ct);
        var fork = await runs.ForkAsync(caller.Scope, id, asked.TurnNumber, asked.VersionNumber, asked.ToMode(), CancellationToken.None);
        return TypedResults.Created($"/v1/runs/{fork.Id}", ForkResponse.From(fork));
    }

    private static async Task<Created<ReplayReport>> ReplayRun(
        [FromRoute(Name = "run_id")] string runId, HttpRequest request, RequestBody body, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(runId, "run_id");
        var asked = await body.ReadAsAsync<ReplayRequest>(request, ct);
        var report = await runs.ReplayAsync(caller.Scope, id, asked.VersionNumber, asked.ToMode(), CancellationToken.None);
        return TypedResults.Created(report.ReplayRunId is null ? null : $"/v1/runs/{report.ReplayRunId}", report);
    }

    /// <summary>Streams the file piece by piece: however large it is, one piece of it is in memory at a time.</summary>
    private static async Task GetFile(
        [FromRoute(Name = "run_id")] string runId, [FromRoute(Name = "file_id")] string fileId, HttpContext http, RunFacade runs, Caller caller)
    {
        var file = await runs.GetFileAsync(caller.Scope, RouteValues.ObjectIdOrThrow(runId, "run_id"), RouteValues.ObjectIdOrThrow(fileId, "file_id"), http.RequestAborted);
        var response = http.Response;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Size;
        response.Headers.ETag = $"\"{file.Sha256}\"";
        response.Headers.CacheControl = "private";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers.ContentDisposition = new Microsoft.Net.Http.Headers.ContentDispositionHeaderValue("attachment") { FileNameStar = file.Name }.ToString();
        await foreach (var piece in runs.ReadFileAsync(caller.Scope, file, http.RequestAborted))
        {
            await response.Body.WriteAsync(piece, http.RequestAborted);
        }
    }

    private static async Task<NoContent> DeleteRun(
        [FromRoute(Name = "run_id")] string runId, RunFacade runs, Caller caller, CancellationToken ct)
    {
        await runs.DeleteAsync(caller.Scope with { IncludeDeleted = false }, RouteValues.ObjectIdOrThrow(runId, "run_id"), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PurgeResponse>> PurgeRuns(RunFacade runs, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(new PurgeResponse((await runs.PurgeAsync(caller.Scope, ct)).PurgedRuns));

    private static async Task<Ok<CancelRunsResponse>> CancelRuns(
        HttpRequest request, RequestBody body, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var asked = await body.ReadAsAsync<CancelRunsRequest>(request, ct);

        // Cancelling is not tied to the caller staying connected: once accepted, every cancel is carried out.
        if (asked.WorkflowId is { } workflowId)
        {
            if (caller.Role < Role.Admin)
            {
                throw new DomainException(ErrorKind.Forbidden, ProblemCodes.Forbidden, "Not permitted", "Cancelling every run of a workflow takes an admin key; an editor cancels by run_ids.");
            }

            return TypedResults.Ok(CancelRunsResponse.From(await runs.CancelWorkflowAsync(caller.Scope, workflowId, asked.Reason, CancellationToken.None)));
        }

        return TypedResults.Ok(CancelRunsResponse.From(await runs.CancelAsync(caller.Scope, asked.RunIds!, asked.Reason, CancellationToken.None)));
    }

    /// <summary>A viewer's lists hold only its own runs (<see cref="RunScope.Restrict"/>).</summary>
    private static async Task<RunListResponse> ListAsync(RunFacade runs, Caller caller, RunQuery query, CancellationToken ct)
    {
        var page = await runs.ListAsync(caller.Scope, query, ct);
        return new RunListResponse(page.Items.Select(s => RunSummaryContract.From(s.Run, s.WorkflowName)).ToList(), query.Page, query.Limit, page.Total);
    }
}
