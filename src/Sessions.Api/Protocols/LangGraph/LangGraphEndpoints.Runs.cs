using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Conversations;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Protocols.LangGraph;

public static partial class LangGraphEndpoints
{
    /// <summary>How long one wait for a turn lasts before a stream that waits says it is still there.</summary>
    private static readonly TimeSpan JoinSlice = TimeSpan.FromSeconds(5);

    private static void MapRuns(RouteGroupBuilder threads)
    {
        const string Reply = "The first run on a thread starts its workflow's run: input is the run's dynamic variables (a last human message in input.messages is the first turn's message, and so last_user_message). Later runs answer it: command.resume, or the last human message of input.messages, is the reply, checked against the run's hint as execute checks it (a reply that does not fit is a 422 and the thread does not move). multitask_strategy: reject (422 while a turn runs or is queued), enqueue, interrupt; rollback is refused.";
        var problems = new[] { StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable };

        threads.MapPost("/{thread_id}/runs/stream", StreamRun).WithName("LangGraphStreamRun")
            .WithSummary("LangGraph: take a turn of the thread's run and stream it (text/event-stream)")
            .WithDescription(Reply + " The stream opens with metadata (run_id) and closes after the turn; Content-Location names the run and Location its stream, to rejoin with Last-Event-ID. A request refused before the turn ran answers with its status and problem; a failure after the stream began is an error event. The turn runs to its end even if the client goes.")
            .Accepts<LangGraphRunCreate>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(problems);
        threads.MapPost("/{thread_id}/runs/wait", WaitRun).WithName("LangGraphWaitRun")
            .WithSummary("LangGraph: take a turn and answer the thread's values after it")
            .WithDescription(Reply + " The answer is the values after the turn, { __interrupt__: [...] } when the run then waits, or { __error__: { error, message } } when it failed.")
            .Accepts<LangGraphRunCreate>("application/json")
            .Produces<JsonObject>()
            .ProducesProblems(problems);
        threads.MapPost("/{thread_id}/runs", CreateRun).WithName("LangGraphCreateRun")
            .WithSummary("LangGraph: take a turn in the background")
            .WithDescription(Reply + " Answered 200 with the run (pending) at once, as LangGraph's SDK reads it; join it at .../join or .../stream.")
            .Accepts<LangGraphRunCreate>("application/json")
            .Produces<LangGraphRun>()
            .ProducesProblems(problems);
        threads.MapGet("/{thread_id}/runs", ListRuns).WithName("LangGraphListRuns")
            .WithSummary("LangGraph: the thread's runs (its turns), newest first")
            .WithDescription("Query: limit (10), offset (0), status (pending, running, success, error, interrupted).")
            .Produces<List<LangGraphRun>>()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        threads.MapGet("/{thread_id}/runs/{run_id}", GetRun).WithName("LangGraphGetRun")
            .WithSummary("LangGraph: one run (one turn) and its status")
            .Produces<LangGraphRun>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        threads.MapGet("/{thread_id}/runs/{run_id}/join", JoinRun).WithName("LangGraphJoinRun")
            .WithSummary("LangGraph: wait for a run (a turn) and answer the thread's values after it")
            .WithDescription("As runs/wait answers.")
            .Produces<JsonObject>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        threads.MapGet("/{thread_id}/runs/{run_id}/stream", JoinStream).WithName("LangGraphJoinStream")
            .WithSummary("LangGraph: stream a run (a turn), or the rest of it after Last-Event-ID")
            .WithDescription("Query: stream_mode (values when absent; repeat it for several). Waits for the turn to commit, then streams its events after Last-Event-ID (every message's id is the seq of the last Sessions event it shows).")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity);
        threads.MapPost("/{thread_id}/runs/{run_id}/cancel", CancelRun).WithName("LangGraphCancelRun")
            .WithSummary("LangGraph: cancel a pending or running run (stops the thread's run)")
            .WithDescription("A run still pending or running is cancelled by stopping the thread's run (command stop: the thread ends, status idle); a run already finished is left as it is (204). action rollback is refused. Query: wait (answer once it is cancelled), action (interrupt).")
            .Produces(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        threads.MapDelete("/{thread_id}/runs/{run_id}", DeleteRun).WithName("LangGraphDeleteRun")
            .WithSummary("LangGraph: delete a run (refused)")
            .WithDescription("Refused with 422 not_supported: a run here is a committed turn of the thread, kept as its history; delete the thread instead.")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity);
    }

    private static void MapStatelessRuns(RouteGroupBuilder runs)
    {
        foreach (var (path, name) in new[] { ("/stream", "LangGraphStatelessStream"), ("/wait", "LangGraphStatelessWait"), ("/", "LangGraphStatelessRun") })
        {
            runs.MapPost(path, StatelessRun).WithName(name)
                .WithSummary("LangGraph: a run without a thread (refused)")
                .WithDescription("Refused with 422 not_supported: a workflow run is a conversation that may wait for its person, so it lives on a thread. Create one with POST /threads, then run on it.")
                .ProducesProblems(StatusCodes.Status422UnprocessableEntity);
        }
    }

    private static IResult StatelessRun() => throw new DomainException(
        ErrorKind.Unprocessable,
        ProblemCodes.NotSupported,
        "Runs without a thread are not supported",
        "A workflow run is a conversation that may wait for its person, so it lives on a thread: create one with POST /threads and run on it.");

    private static IResult DeleteRun() => throw new DomainException(
        ErrorKind.Unprocessable,
        ProblemCodes.NotSupported,
        "Deleting a run is not supported",
        "A run here is a committed turn of its thread's history, which stays as it happened; delete the thread to delete its run.");

    private static async Task StreamRun(
        [FromRoute(Name = "thread_id")] string threadId,
        HttpContext http,
        RequestBody body,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var asked = await ReadRunAsync(threadId, http.Request, body, names, runs, caller, inBackground: false, http.RequestAborted);
        var modes = LangGraphStream.Modes(asked.Create.StreamMode);
        var sse = new ServerSentEvents(http.Response, json);
        var ping = TimeSpan.FromSeconds(options.Value.StreamPingSeconds);
        if (asked.Call.InBackground)
        {
            // Enqueued behind the turn that runs now: streamed once it has run.
            var turnNumber = await AcceptAsync(runs, asked.Call);
            await StreamCommittedAsync(http, sse, runs, caller, asked.Thread.ThreadId, asked.WorkflowId, turnNumber, modes, afterSeq: null, ping, liveOnly: false);
            return;
        }

        var thread = asked.Thread;
        var expected = (thread.Run?.TurnNumber ?? 0) + 1;
        var valuesBefore = thread.Run is null || !modes.Contains("values")
            ? (JsonObject)(asked.Call.Request.DynamicVariables?.DeepClone() ?? new JsonObject())
            : await ValuesAsync(runs, thread, http.RequestAborted);
        var stream = new LangGraphStream(sse, modes, thread.ThreadId, asked.WorkflowId, expected);

        // The stream begins with the turn's first event, so that a turn refused before it ran answers with its status.
        var started = false;
        async Task BeginAsync()
        {
            if (!started)
            {
                started = true;
                Locate(http, thread.ThreadId, expected);
                await stream.StartAsync(thread.Run?.LastSeq ?? 0, valuesBefore, []);
            }
        }

        var taken = await StreamedTurn.TakeAsync(
            runs,
            asked.Call,
            ping,
            async e =>
            {
                await BeginAsync();
                await stream.EventAsync(e);
            },
            async (nodeId, text) =>
            {
                await BeginAsync();
                await stream.DeltaAsync(nodeId, text);
            },
            async () =>
            {
                await BeginAsync();
                await sse.CommentAsync("heartbeat");
            });

        switch (taken)
        {
            case TurnTaken.Ran ran:
                await BeginAsync();
                await EndAsync(stream, runs, ran.Outcome.Run, http.RequestAborted);
                return;

            case TurnTaken.Refused refused when !started:
                throw AsLangGraph(refused.Reason);

            case TurnTaken.Refused refused:
                await stream.ErrorAsync(refused.Reason.Code, refused.Reason.Message);
                return;

            default:
                throw new InvalidOperationException("A LangGraph turn came to nothing the protocol answers.");
        }
    }

    private static async Task<IResult> WaitRun(
        [FromRoute(Name = "thread_id")] string threadId, HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var asked = await ReadRunAsync(threadId, request, body, names, runs, caller, inBackground: false, ct);
        if (asked.Call.InBackground)
        {
            var turnNumber = await AcceptAsync(runs, asked.Call);
            return TypedResults.Ok(await JoinedAsync(runs, caller, asked.Thread.ThreadId, turnNumber, ct));
        }

        // Not the request's token: once accepted, a turn runs to its end even if the client gives up waiting.
        return await runs.TakeTurnAsync(asked.Call, CancellationToken.None) switch
        {
            TurnTaken.Ran ran => TypedResults.Ok(await OutputAsync(runs, ran.Outcome.Run, ct)),
            TurnTaken.Refused refused => throw AsLangGraph(refused.Reason),
            _ => throw new InvalidOperationException("A LangGraph turn came to nothing the protocol answers."),
        };
    }

    private static async Task<Ok<LangGraphRun>> CreateRun(
        [FromRoute(Name = "thread_id")] string threadId, HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var asked = await ReadRunAsync(threadId, request, body, names, runs, caller, inBackground: true, ct);
        var turnNumber = await AcceptAsync(runs, asked.Call);
        var now = DateTimeOffset.UtcNow;
        return TypedResults.Ok(new LangGraphRun(
            LangGraphIds.Run(asked.Thread.ThreadId, turnNumber),
            asked.Thread.ThreadId,
            asked.WorkflowId,
            now,
            now,
            "pending",
            (JsonObject?)asked.Create.Metadata?.DeepClone() ?? [],
            LangGraphTurns.Policy(asked.Create.MultitaskStrategy),
            []));
    }

    private static async Task<Ok<List<LangGraphRun>>> ListRuns(
        [FromRoute(Name = "thread_id")] string threadId,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        CancellationToken ct,
        [FromQuery] string? limit = null,
        [FromQuery] string? offset = null,
        [FromQuery] string? status = null)
    {
        var paging = new JsonObject();
        if (limit is not null)
        {
            paging["limit"] = int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : -1;
        }

        if (offset is not null)
        {
            paging["offset"] = int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : -1;
        }

        var (take, skip) = Paging(paging);
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        var listed = new List<LangGraphRun>();
        if (thread.Run is not { } run)
        {
            return TypedResults.Ok(listed);
        }

        // Turns still to come are runs too: the one running and those queued behind it.
        var newest = Math.Max(run.TurnNumber, Math.Max(thread.Activity?.TurnNumber ?? 0, run.Queue.Count == 0 ? 0 : run.Queue.Max(q => q.TurnNumber)));
        for (var turn = newest; turn >= 1 && listed.Count < take; turn--)
        {
            var found = await RunAsync(runs, caller, thread, turn, ct);
            if (found is null || (status is not null && found.Status != status) || skip-- > 0)
            {
                continue;
            }

            listed.Add(found);
        }

        return TypedResults.Ok(listed);
    }

    private static async Task<Ok<LangGraphRun>> GetRun(
        [FromRoute(Name = "thread_id")] string threadId, [FromRoute(Name = "run_id")] string runId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        var turn = LangGraphIds.TurnOrThrow(thread.ThreadId, runId);
        return TypedResults.Ok(await RunAsync(runs, caller, thread, turn, ct) ?? throw RunNotFound(thread.ThreadId, runId));
    }

    private static async Task<Ok<JsonObject>> JoinRun(
        [FromRoute(Name = "thread_id")] string threadId, [FromRoute(Name = "run_id")] string runId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        var turn = LangGraphIds.TurnOrThrow(thread.ThreadId, runId);
        if (thread.Run is null)
        {
            throw RunNotFound(thread.ThreadId, runId);
        }

        return TypedResults.Ok(await JoinedAsync(runs, caller, thread.ThreadId, turn, ct));
    }

    private static async Task JoinStream(
        [FromRoute(Name = "thread_id")] string threadId,
        [FromRoute(Name = "run_id")] string runId,
        HttpContext http,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        [FromQuery(Name = "stream_mode")] string[]? streamMode = null)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, http.RequestAborted);
        var turn = LangGraphIds.TurnOrThrow(thread.ThreadId, runId);
        if (thread.Run is not { } run)
        {
            throw RunNotFound(thread.ThreadId, runId);
        }

        // No Last-Event-ID: what is still to come (nothing, once the turn has committed), as LangGraph's server joins.
        // -1: the whole turn again. A message's id: the rest of the turn after it.
        long? afterSeq = null;
        var liveOnly = true;
        if (http.Request.Headers["Last-Event-ID"].FirstOrDefault() is { Length: > 0 } last)
        {
            liveOnly = false;
            afterSeq = last == "-1" ? null : long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : throw new DomainException(
                    ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid Last-Event-ID", $"Last-Event-ID is the id of a message this server sent (a whole number), or -1 for all of them, not '{last}'.")
                .With("parameter", "Last-Event-ID");
        }

        // Repeated (`stream_mode=values&stream_mode=updates`, SDK 1.x) or one JSON list (`stream_mode=["values"]`, SDK 2.x).
        var named = (streamMode ?? []).SelectMany(m => ModeList(m) ?? [m]).ToArray();
        var modes = LangGraphStream.Modes(named.Length > 0 ? new JsonArray(named.Select(m => (JsonNode?)m).ToArray()) : null);
        var sse = new ServerSentEvents(http.Response, json);
        await StreamCommittedAsync(http, sse, runs, caller, thread.ThreadId, run.WorkflowId, turn, modes, afterSeq, TimeSpan.FromSeconds(options.Value.StreamPingSeconds), liveOnly);
    }

    /// <summary>The names in a query value that is a JSON list of text, or null when it is not one.</summary>
    private static string[]? ModeList(string value)
    {
        if (!value.StartsWith('['))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(value);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IResult> CancelRun(
        [FromRoute(Name = "thread_id")] string threadId,
        [FromRoute(Name = "run_id")] string runId,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        CancellationToken ct,
        [FromQuery] string? wait = null,
        [FromQuery] string? action = null)
    {
        if (action is not (null or "interrupt"))
        {
            throw action == "rollback"
                ? new DomainException(ErrorKind.Unprocessable, ProblemCodes.NotSupported, "Rollback is not supported", "Cancelling with rollback would erase what the thread did; a committed turn stays. Cancel with action interrupt.")
                    .With("parameter", "action")
                : new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Unknown action", $"action is interrupt, not '{action}'.").With("parameter", "action");
        }

        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        var turn = LangGraphIds.TurnOrThrow(thread.ThreadId, runId);
        if (thread.Run is not { } run)
        {
            throw RunNotFound(thread.ThreadId, runId);
        }

        try
        {
            // Finished already (committed, or never to run because the thread's run ended): nothing to cancel.
            if ((await runs.JoinTurnAsync(caller.Scope, run.Id, turn, TimeSpan.Zero, ct)).Result.Outcome is not null)
            {
                return TypedResults.NoContent();
            }
        }
        catch (DomainException finished) when (finished.Code == ProblemCodes.RunTerminal)
        {
            return TypedResults.NoContent();
        }

        var stop = ExecuteRequestParser.Parse(new JsonObject { ["run_id"] = run.Id, ["run_input"] = new JsonObject { ["command"] = "stop" } }, caller.TenantId, run.WorkflowId, null);
        stop = stop with { RunBy = caller.RunByFor(stop.RunBy), OnlyRunsBy = caller.OnlyRunsBy };
        switch (await runs.TakeTurnAsync(new TurnCall(stop), CancellationToken.None))
        {
            case TurnTaken.Refused refused when refused.Reason.Code == ProblemCodes.RunTerminal:
                return TypedResults.NoContent();
            case TurnTaken.Refused refused:
                throw refused.Reason;
        }

        return wait is "true" or "1" ? TypedResults.NoContent() : TypedResults.Accepted((string?)null);
    }

    /// <summary>What a run request asks: the thread (made now when it may be), the body, the workflow and the turn it is.</summary>
    private sealed record RunAsked(ThreadRead Thread, LangGraphRunCreate Create, string WorkflowId, TurnCall Call);

    private static async Task<RunAsked> ReadRunAsync(
        string threadId, HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, bool inBackground, CancellationToken ct)
    {
        var create = ReadCreate(await body.ReadJsonAsync(request, ct));
        var workflowId = LangGraphIds.AssistantOrThrow(create.AssistantId);
        ThreadRead thread;
        try
        {
            thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        }
        catch (DomainException missing) when (missing.Code == ProblemCodes.ThreadNotFound && create.IfNotExists == "create")
        {
            var id = LangGraphIds.ThreadOrThrow(threadId);
            await names.NameAsync(caller.Scope, ConversationProtocols.LangGraph, id, id, null, caller.Principal, ct);
            thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, id, ct);
        }

        if (create.Checkpoint?["checkpoint_id"] is JsonValue checkpoint && thread.Run is { } run
            && checkpoint.ToString() != LangGraphIds.Checkpoint(thread.ThreadId, run.TurnNumber))
        {
            throw new DomainException(
                    ErrorKind.Unprocessable,
                    ProblemCodes.NotSupported,
                    "Running from an earlier checkpoint is not supported",
                    $"A run goes on from its thread's last turn ({LangGraphIds.Checkpoint(thread.ThreadId, run.TurnNumber)}). To go on from an earlier one, copy the thread's run from that turn: POST /v1/runs/{thread.ThreadId}/fork.")
                .With("parameter", "checkpoint.checkpoint_id");
        }

        foreach (var name in new[] { "interrupt_before", "interrupt_after" })
        {
            if (create.Extra is not null && create.Extra.TryGetValue(name, out var stops)
                && stops.ValueKind != JsonValueKind.Null && !(stops.ValueKind == JsonValueKind.Array && stops.GetArrayLength() == 0))
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.NotSupported, $"{name} is not supported", "A workflow waits where its definition says (ask and pause nodes); breakpoints are not set per run.")
                    .With("parameter", name);
            }
        }

        return new RunAsked(thread, create, workflowId, LangGraphTurns.Call(thread, create, workflowId, caller, inBackground));
    }

    private static LangGraphRunCreate ReadCreate(JsonNode? body)
    {
        try
        {
            return (body is JsonObject ? body.Deserialize<LangGraphRunCreate>(ProtocolJson.Options) : null)
                ?? throw new JsonException("The body is not a JSON object.");
        }
        catch (JsonException wrong)
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid run", $"The run's body does not fit LangGraph's run: {wrong.Message}")
                .With("parameter", wrong.Path ?? "$");
        }
    }

    /// <summary>Accepts a turn for the background; the turn number it will be.</summary>
    private static async Task<int> AcceptAsync(RunFacade runs, TurnCall call) =>
        await runs.TakeTurnAsync(call with { InBackground = true }, CancellationToken.None) switch
        {
            TurnTaken.Accepted accepted => JsonNode.Parse(accepted.Answer)!["turn_number"]!.GetValue<int>(),
            TurnTaken.Refused refused => throw AsLangGraph(refused.Reason),
            _ => throw new InvalidOperationException("A LangGraph run came to nothing the protocol answers."),
        };

    /// <summary>
    /// Waits for a turn to commit, then streams it (after <paramref name="afterSeq"/> when rejoining); with
    /// <paramref name="liveOnly"/>, a turn that had committed before the join streams nothing.
    /// </summary>
    private static async Task StreamCommittedAsync(
        HttpContext http, ServerSentEvents sse, RunFacade runs, Caller caller, string threadId, string workflowId, int turnNumber, IReadOnlySet<string> modes, long? afterSeq, TimeSpan ping, bool liveOnly)
    {
        // A turn that does not exist is a 404 before the stream begins.
        var joined = await runs.JoinTurnAsync(caller.Scope, threadId, turnNumber, TimeSpan.Zero, http.RequestAborted);
        Locate(http, threadId, turnNumber);
        if (liveOnly && joined.Result.Outcome is not null)
        {
            // Nothing is still to come: an empty stream, which the SDK reads as a run that has ended.
            await sse.CommentAsync("the run has ended");
            return;
        }

        var stream = new LangGraphStream(sse, modes, threadId, workflowId, turnNumber);
        try
        {
            while (joined.Result.Outcome is null && sse.ClientConnected)
            {
                await sse.CommentAsync("heartbeat");
                joined = await runs.JoinTurnAsync(caller.Scope, threadId, turnNumber, ping < JoinSlice ? ping : JoinSlice, http.RequestAborted);
            }

            if (joined.Result.Outcome is null)
            {
                return;
            }

            var turn = await runs.GetTurnAsync(caller.Scope, threadId, turnNumber, http.RequestAborted);
            var run = joined.Result.Run;
            var seen = turn.Record.Events.Where(e => e.Seq <= (afterSeq ?? 0)).ToList();
            JsonObject? valuesBefore = afterSeq is null ? [] : null;
            if (afterSeq is null && modes.Contains("values") && turnNumber > 1
                && (await runs.GetTurnAsync(caller.Scope, threadId, turnNumber - 1, http.RequestAborted)).StateAfter is { } before)
            {
                valuesBefore = await LangGraphThreads.ValuesAsync(runs, run, before.Variables, turnNumber - 1, http.RequestAborted);
            }

            await stream.StartAsync(afterSeq ?? turn.Record.Turn.FirstSeq - 1, valuesBefore, seen);
            foreach (var e in turn.Record.Events.Where(e => e.Seq > (afterSeq ?? 0)))
            {
                await stream.EventAsync(e);
            }

            await EndAsync(stream, runs, joined.Result.Outcome.Run, http.RequestAborted);
        }
        catch (DomainException failure) when (sse.Started)
        {
            await stream.ErrorAsync(failure.Code, failure.Message);
        }
    }

    /// <summary>The values after a turn, its interrupt, and, when the run failed there, the error.</summary>
    private static async Task EndAsync(LangGraphStream stream, RunFacade runs, RunDocument after, CancellationToken ct)
    {
        await stream.EndAsync(after, await LangGraphThreads.ValuesAsync(runs, after, after.Variables, after.TurnNumber, ct));
        if (Failure(after) is { } failure)
        {
            await stream.ErrorAsync(failure["error"]!.GetValue<string>(), failure["message"]!.GetValue<string>());
        }
    }

    /// <summary>What runs/wait and join answer after a turn: the values, or the interrupt it waits at, or the error it failed with.</summary>
    private static async Task<JsonObject> OutputAsync(RunFacade runs, RunDocument after, CancellationToken ct)
    {
        if (Failure(after) is { } failure)
        {
            return new JsonObject { ["__error__"] = failure };
        }

        var interrupts = LangGraphThreads.Interrupts(after);
        return interrupts.Count > 0
            ? new JsonObject { ["__interrupt__"] = JsonSerializer.SerializeToNode(interrupts, ProtocolJson.Options) }
            : await LangGraphThreads.ValuesAsync(runs, after, after.Variables, after.TurnNumber, ct);
    }

    private static JsonObject? Failure(RunDocument run) => run.Status is RunStatus.Failed or RunStatus.AbortedLoopingRisk
        ? new JsonObject { ["error"] = run.Status.ToWire(), ["message"] = run.Error ?? $"The run ended {run.Status.ToWire()}." }
        : null;

    /// <summary>Waits for a turn to commit (as long as it takes, a slice at a time) and answers as runs/wait does.</summary>
    private static async Task<JsonObject> JoinedAsync(RunFacade runs, Caller caller, string threadId, int turnNumber, CancellationToken ct)
    {
        while (true)
        {
            var joined = await runs.JoinTurnAsync(caller.Scope, threadId, turnNumber, TimeSpan.FromSeconds(TurnResults.MaxWaitSeconds), ct);
            if (joined.Result.Outcome is { } outcome)
            {
                return await OutputAsync(runs, outcome.Run, ct);
            }
        }
    }

    /// <summary>Turn <paramref name="turnNumber"/> of the thread's run as a LangGraph run, or null if there is no such turn.</summary>
    private static async Task<LangGraphRun?> RunAsync(RunFacade runs, Caller caller, ThreadRead thread, int turnNumber, CancellationToken ct)
    {
        if (thread.Run is not { } run)
        {
            return null;
        }

        string status;
        DateTimeOffset createdAt = run.UpdatedAt, updatedAt = run.UpdatedAt;
        JsonObject kwargs = [];
        try
        {
            var joined = await runs.JoinTurnAsync(caller.Scope, run.Id, turnNumber, TimeSpan.Zero, ct);
            if (joined.Result.Outcome is { } outcome)
            {
                var turn = (await runs.GetTurnAsync(caller.Scope, run.Id, turnNumber, ct)).Record.Turn;
                (createdAt, updatedAt) = (turn.StartedAt, turn.CompletedAt);
                kwargs["input"] = turn.Input.DeepClone();
                status = outcome.Run.Status switch
                {
                    RunStatus.Failed or RunStatus.AbortedLoopingRisk => "error",
                    RunStatus.Cancelled => "interrupted",
                    _ => "success",
                };
            }
            else
            {
                status = joined.Result.Activity?.TurnNumber == turnNumber ? "running" : "pending";
            }
        }
        catch (DomainException gone) when (gone.Code is ProblemCodes.RunTerminal)
        {
            // Queued behind a turn that ended the run: it will never run.
            status = "interrupted";
        }
        catch (DomainException missing) when (missing.Code is ProblemCodes.TurnNotFound)
        {
            return null;
        }
        catch (DomainException refused) when (refused.Kind != ErrorKind.NotFound)
        {
            // A background turn its run refused when its time came.
            status = "error";
        }

        return new LangGraphRun(LangGraphIds.Run(run.Id, turnNumber), run.Id, run.WorkflowId, createdAt, updatedAt, status, [], "reject", kwargs);
    }

    /// <summary>Where the run is and where its stream can be joined again, as LangGraph's SDK reads them.</summary>
    private static void Locate(HttpContext http, string threadId, int turnNumber)
    {
        var runPath = $"/threads/{threadId}/runs/{LangGraphIds.Run(threadId, turnNumber)}";
        http.Response.Headers.ContentLocation = runPath;
        http.Response.Headers.Location = runPath + "/stream";
    }

    /// <summary>
    /// A refusal as LangGraph answers it: a turn refused because another runs or came first (reject) is a 422, as
    /// LangGraph's own server answers a busy thread; everything else keeps its status.
    /// </summary>
    private static DomainException AsLangGraph(DomainException refused)
    {
        if (refused.Code is not (ProblemCodes.TurnConflict or ProblemCodes.TurnMismatch))
        {
            return refused;
        }

        var busy = new DomainException(ErrorKind.Unprocessable, refused.Code, refused.Title, refused.Message);
        foreach (var (key, value) in refused.Extensions)
        {
            busy.With(key, value);
        }

        return busy;
    }

    private static DomainException RunNotFound(string threadId, string runId) =>
        new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Run not found", $"Run with ID {runId} not found in thread {threadId}.").With("run_id", runId);
}
