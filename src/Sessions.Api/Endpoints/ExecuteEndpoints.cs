using Sessions.Runtime.Values;
using Sessions.Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Endpoints;

public static class ExecuteEndpoints
{
    public static RouteGroupBuilder MapExecute(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/workflows/{workflow_id}").WithTags("Execute");

        group.MapPost("/execute", Execute)
            .WithName("Execute")
            .WithSummary("Take one turn: start a run, answer it, pause it or stop it")
            .WithDescription("Without run_id a new run is created and stepped until it waits, pauses or ends. With run_id the run continues with run_input.user_message. Every rejected request leaves the run exactly as it was. With an Idempotency-Key header a retry of the same request gets the first answer byte for byte (header Idempotent-Replayed: true) and runs nothing; the same key with another body is a 422 idempotency_key_reused, and while the first is still running a 409 idempotency_key_in_flight with Retry-After. expected_turn in the body makes the turn a 409 turn_mismatch unless the run is at that turn. With the header `Prefer: respond-async` the turn is recorded and answered at once with 202 Accepted (Location: /v1/runs/{run_id}), and a worker runs it; join it at /v1/runs/{run_id}/turns/{turn_number}/result. run_input.on_busy says what a turn does when another turn of the run is running or queued: reject (409 turn_conflict), enqueue or interrupt. A stop cancels a running turn, whose client gets 409 turn_cancelled.")
            .Accepts<ExecuteRequest>("application/json", MultipartTurn.MediaType)
            .Produces<ExecuteResponse>(StatusCodes.Status200OK, "application/json")
            .Produces<BackgroundTurnResponse>(StatusCodes.Status202Accepted, "application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);

        group.MapPost("/execute/stream", ExecuteStreaming)
            .WithName("ExecuteStreaming")
            .WithSummary("Take one turn and stream its events as they happen (text/event-stream)")
            .WithDescription("Same body as execute. Each event is an SSE message with id = seq; `ping` while a node works; a final `result` whose data is exactly execute's JSON answer, or `error` with a problem if the turn fails after the stream began. A request refused before anything happened answers with its status and problem, as execute does. Idempotency-Key and expected_turn work as on execute; a retried key streams the first turn's events and answer again. The turn runs to the end even if the client disconnects; reconnect to /v1/runs/{run_id}/events/stream with Last-Event-ID.")
            .Accepts<ExecuteRequest>("application/json", MultipartTurn.MediaType)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);

        return group;
    }

    /// <summary>The header that makes a turn safe to retry; see <see cref="IdempotentTurns"/>.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>Set on an answer given again for a retried Idempotency-Key instead of running the turn.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>The RFC 7240 preference that asks for a turn to run in the background.</summary>
    public const string RespondAsync = "respond-async";

    private static async Task ExecuteStreaming(
        [FromRoute(Name = "workflow_id")] string workflowId,
        HttpContext http,
        RequestBody body,
        RunFacade runs,
        Caller caller,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "version_number")] string? versionNumber = null)
    {
        var call = await ReadTurnAsync(workflowId, versionNumber, http.Request, body, runs, caller, http.RequestAborted);

        var stream = new ServerSentEvents(http.Response, json);

        // Deltas carry no id: they are not stored, so Last-Event-ID never points at one.
        var taken = await StreamedTurn.TakeAsync(
            runs,
            call,
            TimeSpan.FromSeconds(options.Value.StreamPingSeconds),
            e => stream.WriteAsync(null, EventContract.From(e), e.Seq),
            (nodeId, text) => stream.WriteAsync("llm_delta", new LlmDelta(nodeId, text)),
            stream.PingAsync);

        try
        {
            switch (taken)
            {
                case TurnTaken.Ran ran:
                    await stream.WriteRawAsync("result", ran.Outcome.Answer!);
                    return;

                case TurnTaken.Replayed replayed:
                    // A retry of an answered key: the first turn's events again, from its stored answer, then that answer.
                    http.Response.Headers[ReplayedHeader] = "true";
                    var answer = JsonText.ParseStored(replayed.Answer)!;
                    foreach (var again in answer["events"]!.AsArray())
                    {
                        await stream.WriteAsync(null, again!, again!["seq"]!.GetValue<long>());
                    }

                    await stream.WriteAsync("result", answer);
                    return;

                case TurnTaken.Refused refused:
                    throw refused.Reason;
            }
        }
        catch (Exception failure) when (stream.Started && ProblemMapping.ToProblem(failure, http) is { } problem)
        {
            await stream.WriteAsync("error", problem);
        }
    }

    /// <summary>Partial model text on the stream endpoint; the `llm` event that follows carries the whole reply.</summary>
    private sealed record LlmDelta(string NodeId, string Text);

    private static async Task<IResult> Execute(
        [FromRoute(Name = "workflow_id")] string workflowId,
        HttpContext http,
        RequestBody body,
        RunFacade runs,
        Caller caller,
        CancellationToken ct,
        [FromQuery(Name = "version_number")] string? versionNumber = null)
    {
        var call = await ReadTurnAsync(workflowId, versionNumber, http.Request, body, runs, caller, ct);

        // Not the request's token: once accepted, a turn runs to its end even if the client gives up waiting. The answer
        // is the text the runtime wrote before committing (and, under a key, stored for every retry).
        switch (await runs.TakeTurnAsync(call, CancellationToken.None))
        {
            case TurnTaken.Ran ran:
                return TypedResults.Content(ran.Outcome.Answer!, "application/json", Encoding.UTF8);

            case TurnTaken.Accepted accepted:
                return AcceptedAnswer(http, accepted.RunId, accepted.Answer);

            case TurnTaken.Replayed replayed:
                http.Response.Headers[ReplayedHeader] = "true";
                return replayed.WasAccepted ? AcceptedAnswer(http, replayed.RunId, replayed.Answer) : TypedResults.Content(replayed.Answer, "application/json", Encoding.UTF8);

            case TurnTaken.Refused refused:
                throw refused.Reason;

            default:
                throw new InvalidOperationException("A turn came to nothing the protocol answers.");
        }
    }

    /// <summary>The `202` of a turn accepted to run in the background: the run's address, and the preference applied.</summary>
    private static IResult AcceptedAnswer(HttpContext http, string runId, string answer)
    {
        http.Response.Headers["Preference-Applied"] = RespondAsync;
        http.Response.Headers.Location = $"/v1/runs/{runId}";
        return Results.Content(answer, "application/json", Encoding.UTF8, StatusCodes.Status202Accepted);
    }

    /// <summary>Whether the request asks, in a `Prefer` header (RFC 7240), for the turn to run in the background.</summary>
    private static bool PrefersAsync(HttpRequest request) =>
        request.Headers["Prefer"].SelectMany(value => (value ?? "").Split(','))
            .Any(preference => preference.Split(';')[0].Trim().Equals(RespondAsync, StringComparison.OrdinalIgnoreCase));

    /// <summary>The turn a request asks for, as this caller may take it: under its idempotency key if any, now or in the background.</summary>
    private static async Task<TurnCall> ReadTurnAsync(
        string workflowId, string? versionNumber, HttpRequest request, RequestBody body, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var queryVersion = RouteValues.VersionNumberOrThrow(versionNumber);
        string? key = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            key = keys.Count == 1 && IdempotentTurns.IsValidKey(keys[0]!) ? keys[0] : throw new DomainException(
                ErrorKind.BadRequest,
                ProblemCodes.InvalidIdempotencyKey,
                "Invalid Idempotency-Key",
                $"Idempotency-Key is one value of 1 to {IdempotentTurns.MaxKeyLength} printable ASCII characters without spaces, such as a UUID.");
        }

        JsonNode? json;
        ReadOnlyMemory<byte> identity;
        IReadOnlyList<UploadedFile> uploaded = [];
        if (MultipartTurn.Is(request))
        {
            var multipart = await MultipartTurn.ReadAsync(request, body, runs.Files, caller.TenantId, ct);
            (json, identity, uploaded) = (multipart.Body, multipart.Fingerprint, multipart.Files);
        }
        else
        {
            var read = await body.ReadAsync(request, ct);
            (json, identity) = (read.Json, read.Bytes);
        }

        TurnRequest turn;
        try
        {
            turn = ExecuteRequestParser.Parse(json, caller.TenantId, id, queryVersion);
            turn = turn with { RunBy = caller.RunByFor(turn.RunBy), OnlyRunsBy = caller.OnlyRunsBy };
        }
        catch when (uploaded.Count > 0)
        {
            await runs.Files.DiscardAsync(caller.TenantId, uploaded.Select(u => u.File));
            throw;
        }

        if (uploaded.Count > 0)
        {
            // Recorded with the turn: its record shows what came with it, and a queued turn finds its files when it runs.
            var recorded = (JsonObject)turn.RecordedInput.DeepClone();
            recorded[UploadedFile.RecordedField] = UploadedFile.Record(uploaded);
            turn = turn with { RecordedInput = recorded };
        }

        // Keys are each principal's own: another API key of the tenant that sends the same key is a stranger to it,
        // and neither gets the other's answer (which could show a run it may not read).
        var scopedKey = key is null ? null : IdempotentTurns.ScopeKey(caller.Principal, key);
        // The preference is part of what "the same request" means: a key first used to start a turn in the background
        // and then sent for a synchronous one is reused for another request.
        var inBackground = PrefersAsync(request) && turn.Command != TurnCommand.Stop;
        var hashed = inBackground ? $"{request.QueryString.Value}\n{RespondAsync}" : request.QueryString.Value;
        return new TurnCall(turn)
        {
            Idempotency = scopedKey is null ? null : (scopedKey, IdempotentTurns.HashRequest(id, hashed, identity.Span)),
            InBackground = inBackground,
        };
    }
}
