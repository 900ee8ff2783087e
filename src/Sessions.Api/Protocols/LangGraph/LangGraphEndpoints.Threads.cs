using Sessions.Runtime.Recordings;
using Sessions.Runtime.Runs;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Conversations;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Ids;

namespace Sessions.Api.Protocols.LangGraph;

public static partial class LangGraphEndpoints
{
    private static void MapThreads(RouteGroupBuilder threads)
    {
        threads.MapPost("/", CreateThread).WithName("LangGraphCreateThread")
            .WithSummary("LangGraph: create a thread (a run's name before its first turn)")
            .WithDescription("The thread is idle until its first run starts its workflow's run, whose id is the thread's. thread_id may be your own ObjectId; if_exists do_nothing answers the existing thread instead of 409.")
            .Accepts<LangGraphThreadCreate>("application/json")
            .Produces<LangGraphThread>()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        threads.MapPost("/search", SearchThreads).WithName("LangGraphSearchThreads")
            .WithSummary("LangGraph: list threads made through this API, newest first")
            .WithDescription("Body: metadata (the threads whose metadata holds these pairs), status, limit (10), offset (0). A run started through execute is not listed here; read it as a thread by its run_id.")
            .Produces<List<LangGraphThread>>()
            .ProducesProblems(StatusCodes.Status400BadRequest);
        threads.MapGet("/{thread_id}", GetThread).WithName("LangGraphGetThread")
            .WithSummary("LangGraph: a thread (any run, by its run_id)")
            .Produces<LangGraphThread>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        threads.MapPatch("/{thread_id}", PatchThread).WithName("LangGraphPatchThread")
            .WithSummary("LangGraph: merge metadata into a thread's")
            .Produces<LangGraphThread>()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        threads.MapDelete("/{thread_id}", DeleteThread).WithName("LangGraphDeleteThread")
            .WithSummary("LangGraph: delete a thread (its run is deleted as DELETE /v1/runs/{run_id} does)")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Editor);
        threads.MapGet("/{thread_id}/state", GetState).WithName("LangGraphGetState")
            .WithSummary("LangGraph: the thread's state now")
            .WithDescription("values: the run's variables and its conversation as messages; next and tasks[].interrupts while it waits; the checkpoint of its last turn and of the one before.")
            .Produces<LangGraphThreadState>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        threads.MapGet("/{thread_id}/state/{checkpoint_id}", GetStateAt).WithName("LangGraphGetStateAt")
            .WithSummary("LangGraph: the thread's state after one of its turns")
            .Produces<LangGraphThreadState>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        threads.MapPost("/{thread_id}/state", UpdateState).WithName("LangGraphUpdateState")
            .WithSummary("LangGraph: update a thread's state (refused)")
            .WithDescription("Refused with 422 not_supported: a run's variables change only through its turns.")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity);
        threads.MapPost("/{thread_id}/history", GetHistory).WithName("LangGraphGetHistory")
            .WithSummary("LangGraph: the thread's state after each turn, newest first")
            .WithDescription("Body: limit (10), before ({ checkpoint_id }: only older states). Each state's parent_checkpoint is the one before it.")
            .Produces<List<LangGraphThreadState>>()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        threads.MapPost("/{thread_id}/copy", CopyThread).WithName("LangGraphCopyThread")
            .WithSummary("LangGraph: copy a thread (a fork of its run after its last turn)")
            .Produces<LangGraphThread>()
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);
        MapRuns(threads);
    }

    private static async Task<IResult> CreateThread(HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var create = await body.ReadJsonAsync(request, ct) as JsonObject ?? [];
        var metadata = create["metadata"] as JsonObject;
        var ifExists = Text(create, "if_exists") ?? "raise";
        if (ifExists is not ("raise" or "do_nothing"))
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Invalid if_exists", $"if_exists is raise or do_nothing, not '{ifExists}'.").With("parameter", "if_exists");
        }

        string threadId;
        if (Text(create, "thread_id") is { } asked)
        {
            threadId = ObjectId.TryParse(asked, out var id)
                ? id.ToString()
                : throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Invalid thread_id", $"thread_id '{ProblemText.Shorten(asked)}' is not 24 lowercase hex characters: a thread is a run, named by an ObjectId.")
                    .With("thread_id", asked);
            if (await names.FindAsync(caller.Scope, ConversationProtocols.LangGraph, threadId, ct) is not null || await runs.FindRunAsync(caller.Scope, threadId, ct) is not null)
            {
                return ifExists == "do_nothing"
                    ? await ThreadAsync(runs, names, caller, threadId, ct)
                    : throw new DomainException(ErrorKind.Conflict, ProblemCodes.InvalidRequest, "Thread exists", $"Thread {threadId} exists already.").With("thread_id", threadId);
            }
        }
        else
        {
            threadId = ObjectId.NewId(DateTimeOffset.UtcNow).ToString();
        }

        // Two creates of one id at once both get the thread the first made.
        await names.NameAsync(caller.Scope, ConversationProtocols.LangGraph, threadId, threadId, (JsonObject?)metadata?.DeepClone(), caller.Principal, ct);
        return await ThreadAsync(runs, names, caller, threadId, ct);
    }

    private static async Task<IResult> ThreadAsync(RunFacade runs, ConversationDirectory names, Caller caller, string threadId, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        return TypedResults.Ok(LangGraphThreads.Thread(thread, thread.Run is null ? null : await ValuesAsync(runs, thread, ct)));
    }

    private static async Task<Ok<List<LangGraphThread>>> SearchThreads(HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var search = await body.ReadJsonAsync(request, ct) as JsonObject ?? [];
        var (limit, offset) = Paging(search);
        var metadata = search["metadata"] as JsonObject;
        var status = Text(search, "status");

        // Filters apply to what is read, so the store is read a page at a time until the page asked for is full.
        var found = new List<LangGraphThread>();
        var skipped = 0;
        for (var from = 0; found.Count < limit; from += 100)
        {
            var links = await names.ListAsync(caller.Scope, ConversationProtocols.LangGraph, from, 100, ct);
            foreach (var link in links)
            {
                if (metadata is not null && metadata.Any(p => !JsonNode.DeepEquals(p.Value, link.Metadata[p.Key])))
                {
                    continue;
                }

                var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, link.ExternalId, ct);
                if (status is not null && LangGraphThreads.Status(thread) != status)
                {
                    continue;
                }

                if (skipped++ < offset)
                {
                    continue;
                }

                found.Add(LangGraphThreads.Thread(thread, thread.Run is null ? null : await ValuesAsync(runs, thread, ct)));
                if (found.Count == limit)
                {
                    break;
                }
            }

            if (links.Count < 100)
            {
                break;
            }
        }

        return TypedResults.Ok(found);
    }

    private static async Task<Ok<LangGraphThread>> GetThread([FromRoute(Name = "thread_id")] string threadId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        return TypedResults.Ok(LangGraphThreads.Thread(thread, thread.Run is null ? null : await ValuesAsync(runs, thread, ct)));
    }

    private static async Task<Ok<LangGraphThread>> PatchThread(
        [FromRoute(Name = "thread_id")] string threadId, HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var patch = await body.ReadJsonAsync(request, ct) as JsonObject ?? [];
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        if (patch["metadata"] is JsonObject metadata)
        {
            // A run started through execute gets its name here, to keep the metadata with.
            var link = thread.Link ?? await names.NameAsync(caller.Scope, ConversationProtocols.LangGraph, thread.ThreadId, thread.ThreadId, null, caller.Principal, ct);
            var merged = (JsonObject)link.Metadata.DeepClone();
            foreach (var (name, value) in metadata)
            {
                merged[name] = value?.DeepClone();
            }

            await names.SetMetadataAsync(caller.Scope, link, merged, ct);
            thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        }

        return TypedResults.Ok(LangGraphThreads.Thread(thread, thread.Run is null ? null : await ValuesAsync(runs, thread, ct)));
    }

    private static async Task<NoContent> DeleteThread([FromRoute(Name = "thread_id")] string threadId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        if (thread.Run is not null)
        {
            await runs.DeleteAsync(caller.Scope, thread.ThreadId, ct);
        }

        if (thread.Link is { } link)
        {
            await names.ForgetAsync(caller.Scope, link, ct);
        }

        return TypedResults.NoContent();
    }

    private static async Task<Ok<LangGraphThreadState>> GetState([FromRoute(Name = "thread_id")] string threadId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        if (thread.Run is not { } run || run.TurnNumber == 0)
        {
            return TypedResults.Ok(LangGraphThreads.Empty());
        }

        return TypedResults.Ok(LangGraphThreads.State(thread.ThreadId, run, run.TurnNumber, await ValuesAsync(runs, thread, ct), run.UpdatedAt));
    }

    private static async Task<Ok<LangGraphThreadState>> GetStateAt(
        [FromRoute(Name = "thread_id")] string threadId, [FromRoute(Name = "checkpoint_id")] string checkpointId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        var turn = LangGraphIds.TurnOrThrow(thread.ThreadId, checkpointId);
        return TypedResults.Ok((await StatesAsync(runs, caller, thread, turn, 1, ct)).Single());
    }

    private static IResult UpdateState() => throw new DomainException(
        ErrorKind.Unprocessable,
        ProblemCodes.NotSupported,
        "State updates are not supported",
        "A run's variables change only through its turns (its nodes, and the replies it takes), so that its history says how it got there. Fork the run to start from an earlier state.");

    private static async Task<Ok<List<LangGraphThreadState>>> GetHistory(
        [FromRoute(Name = "thread_id")] string threadId, HttpRequest request, RequestBody body, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var asked = await body.ReadJsonAsync(request, ct) as JsonObject ?? [];
        var (limit, _) = Paging(asked);
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        if (thread.Run is not { } run)
        {
            return TypedResults.Ok(new List<LangGraphThreadState>());
        }

        var newest = run.TurnNumber;
        // before: a checkpoint id, `{ checkpoint_id }`, or a config (`{ configurable: { checkpoint_id } }`, as the SDK sends it).
        var before = asked["before"] switch
        {
            JsonValue id => id,
            JsonObject config => config["checkpoint_id"] ?? (config["configurable"] as JsonObject)?["checkpoint_id"],
            _ => null,
        };
        if (before is not null)
        {
            newest = LangGraphIds.TurnOrThrow(thread.ThreadId, before.ToString()) - 1;
        }

        return TypedResults.Ok(await StatesAsync(runs, caller, thread, newest, limit, ct));
    }

    private static async Task<Ok<LangGraphThread>> CopyThread([FromRoute(Name = "thread_id")] string threadId, ConversationDirectory names, RunFacade runs, Caller caller, CancellationToken ct)
    {
        var thread = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, threadId, ct);
        if (thread.Run is not { } run)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Nothing to copy", $"Thread {thread.ThreadId} has not started.").With("thread_id", thread.ThreadId);
        }

        // A copy is the same conversation: a question a model asked is taken from the recording, not asked again.
        var fork = await runs.ForkAsync(caller.Scope, run.Id, run.TurnNumber, null, new CallReplayMode(CallSource.Recorded, ChangedCallPolicy.Live), ct);
        await names.NameAsync(caller.Scope, ConversationProtocols.LangGraph, fork.Id, fork.Id, (JsonObject?)thread.Link?.Metadata.DeepClone(), caller.Principal, ct);
        var copy = await LangGraphThreads.ReadAsync(runs, names, caller.Scope, fork.Id, ct);
        return TypedResults.Ok(LangGraphThreads.Thread(copy, await ValuesAsync(runs, copy, ct)));
    }

    /// <summary>The thread's state after turn <paramref name="newest"/> and up to <paramref name="limit"/> turns before it, newest first.</summary>
    private static async Task<List<LangGraphThreadState>> StatesAsync(RunFacade runs, Caller caller, ThreadRead thread, int newest, int limit, CancellationToken ct)
    {
        var run = thread.Run!;
        var oldest = Math.Max(1, newest - limit + 1);
        if (newest < 1 || newest > run.TurnNumber)
        {
            return [];
        }

        // The conversation as it stood after each turn: one pass over the run's events.
        var messages = new LangGraphMessages(run.Id);
        var after = new Dictionary<int, JsonArray>();
        await foreach (var record in runs.ReadAllTurnsAsync(run, ct))
        {
            foreach (var e in record.Events)
            {
                messages.Add(e);
            }

            if (record.Turn.TurnNumber >= oldest)
            {
                after[record.Turn.TurnNumber] = (JsonArray)messages.All.DeepClone();
            }

            if (record.Turn.TurnNumber >= newest)
            {
                break;
            }
        }

        var states = new List<LangGraphThreadState>();
        for (var turn = newest; turn >= oldest; turn--)
        {
            var details = await runs.GetTurnAsync(caller.Scope, run.Id, turn, ct);
            var state = details.StateAfter ?? run;
            states.Add(LangGraphThreads.State(thread.ThreadId, state, turn, LangGraphThreads.WithMessages(state.Variables, after.GetValueOrDefault(turn) ?? []), details.Record.Turn.CompletedAt));
        }

        return states;
    }

    private static Task<JsonObject> ValuesAsync(RunFacade runs, ThreadRead thread, CancellationToken ct) =>
        LangGraphThreads.ValuesAsync(runs, thread.Run!, thread.Run!.Variables, null, ct);
}
