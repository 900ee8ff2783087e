using System.Text.Json;
using System.Text.Json.Nodes;
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
using Sessions.Runtime.Validation;

namespace Sessions.Api.Protocols.AiSdk;

/// <summary>
/// The AI SDK's chat (`useChat` with `DefaultChatTransport`): `POST /v1/workflows/{workflow_id}/chat` takes what the
/// transport sends (`{ id, messages, trigger, messageId }`) and answers the UI message stream. The chat's `id` names a
/// run of the workflow, durably and per tenant: the first message of a new id starts the run, later ones answer it
/// with the last user message's text, checked as execute checks a reply. Each turn goes through the run facade.
/// </summary>
public static class AiSdkChatEndpoints
{
    /// <summary>The longest chat id taken: ids are the client's (useChat makes 16 characters).</summary>
    public const int MaxChatIdLength = 200;

    public static IEndpointRouteBuilder MapAiSdkChat(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/workflows/{workflow_id}/chat").WithTags("AI SDK chat");
        group.MapPost("/", Chat).WithName("AiSdkChat")
            .WithSummary("AI SDK chat: take a turn and answer the UI message stream (useChat)")
            .WithDescription("Body as DefaultChatTransport sends it: id (the chat: a new id starts a run of the workflow, a known one answers its run), messages (the last user message's text parts are the reply; on a new chat, the first turn's message), trigger (submit-message; regenerate-message is refused: a committed turn is not taken again), and optionally dynamic_variables (first message) and command (pause, resume, stop). Answers text/event-stream with x-vercel-ai-ui-message-stream: v1: start (metadata run_id, turn_number), a text part per thing said or asked, data-next-input-hint ({status, next_input_hint}), finish (metadata with status), [DONE]. A reply refused before the turn ran is a problem with its status (422 invalid_reply with the hint); one refused after the stream began is an error chunk. The run does not move either way.")
            .Accepts<JsonObject>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/{chat_id}/stream", Reconnect).WithName("AiSdkChatReconnect")
            .WithSummary("AI SDK chat: rejoin the turn in progress (resume)")
            .WithDescription("204 when the chat's run has no turn in progress; otherwise waits for that turn to commit and streams it as POST .../chat does.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(StatusCodes.Status404NotFound);
        return routes;
    }

    private static async Task Chat(
        [FromRoute(Name = "workflow_id")] string workflowId,
        HttpContext http,
        RequestBody body,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        IOptions<SessionsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var workflow = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var request = await body.ReadJsonAsync(http.Request, http.RequestAborted) as JsonObject
            ?? throw Invalid("$", "The body is a JSON object: { id, messages, trigger }.");
        var chatId = ChatId(request["id"]);
        var trigger = Text(request["trigger"]) ?? "submit-message";
        if (trigger == "regenerate-message")
        {
            throw new DomainException(
                    ErrorKind.Unprocessable,
                    ProblemCodes.NotSupported,
                    "Regenerating is not supported",
                    "A workflow's turn, once committed, stays as it happened: it is not taken again for another answer. Send a new message instead, or fork the run (POST /v1/runs/{run_id}/fork) to go another way from an earlier turn.")
                .With("parameter", "trigger");
        }

        if (trigger != "submit-message")
        {
            throw Invalid("$.trigger", $"trigger is submit-message or regenerate-message, not '{trigger}'.");
        }

        var said = LastUserText(request["messages"]);

        // The chat's run: named now if the chat is new (two first messages at once get one run), started by its first turn.
        var link = await names.NameAsync(caller.Scope, ConversationProtocols.AiSdk, chatId, null, null, caller.Principal, http.RequestAborted);
        if (await names.FindAsync(caller.Scope, ConversationProtocols.AiSdk, chatId, http.RequestAborted) is null)
        {
            throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Chat", chatId);
        }

        var run = await runs.FindRunAsync(caller.Scope, link.RunId, http.RequestAborted);
        if (run is not null && run.WorkflowId != workflow)
        {
            throw new DomainException(ErrorKind.Conflict, ProblemCodes.InvalidRequest, "Chat of another workflow", $"Chat '{chatId}' is a run of workflow {run.WorkflowId}, not {workflow}.")
                .With("chat_id", chatId);
        }

        var input = new JsonObject { ["on_busy"] = "reject" };
        if (request["command"] is { } command)
        {
            input["command"] = command.DeepClone();
        }

        JsonObject execute;
        if (run is null)
        {
            if (request["dynamic_variables"] is JsonObject variables)
            {
                input["dynamic_variables"] = variables.DeepClone();
            }

            execute = new JsonObject { ["run_input"] = input };
        }
        else
        {
            // The turn this message is, known before it runs: a message sent twice at once applies once.
            execute = new JsonObject { ["run_id"] = run.Id, ["expected_turn"] = run.TurnNumber, ["run_input"] = input };
        }

        if (said is { Length: > 0 } && request["command"] is null)
        {
            // The reply; on a new chat, the first message: the workflow starts where it starts, and what the person
            // said first is in the conversation and in last_user_message for it to read.
            input["user_message"] = said;
        }

        var turn = ExecuteRequestParser.Parse(execute, caller.TenantId, workflow, null);
        turn = turn with { RunBy = caller.RunByFor(turn.RunBy), OnlyRunsBy = caller.OnlyRunsBy, NewRunId = run is null ? link.RunId : null };

        var sse = new ServerSentEvents(http.Response, json);
        var stream = new UiMessageStream(http.Response, sse, link.RunId, (run?.TurnNumber ?? 0) + 1);
        var taken = await StreamedTurn.TakeAsync(
            runs,
            new TurnCall(turn),
            TimeSpan.FromSeconds(options.Value.StreamPingSeconds),
            async e =>
            {
                await stream.StartAsync();
                await stream.EventAsync(e);
            },
            async (nodeId, text) =>
            {
                await stream.StartAsync();
                await stream.DeltaAsync(nodeId, text);
            },
            async () =>
            {
                // Started by the wait, so the keep-alive (a comment, which the AI SDK's parser skips) can go out.
                await stream.StartAsync();
                await sse.CommentAsync("keep-alive");
            });

        switch (taken)
        {
            case TurnTaken.Ran ran:
                await stream.StartAsync();
                await stream.EndAsync(ran.Outcome.Run);
                return;

            case TurnTaken.Refused refused when !stream.Started:
                throw refused.Reason;

            case TurnTaken.Refused refused:
                await stream.ErrorAsync(refused.Reason.Code, refused.Reason.Message);
                return;

            default:
                throw new InvalidOperationException("A chat turn came to nothing the protocol answers.");
        }
    }

    private static async Task<IResult?> Reconnect(
        [FromRoute(Name = "workflow_id")] string workflowId,
        [FromRoute(Name = "chat_id")] string chatId,
        HttpContext http,
        ConversationDirectory names,
        RunFacade runs,
        Caller caller,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var workflow = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var link = await names.FindAsync(caller.Scope, ConversationProtocols.AiSdk, ChatId(JsonValue.Create(chatId)), http.RequestAborted)
            ?? throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Chat", chatId);
        var details = await runs.FindDetailsAsync(caller.Scope, link.RunId, http.RequestAborted);
        if (details is null || details.Run.WorkflowId != workflow || details.Activity is not { } activity)
        {
            return TypedResults.NoContent();
        }

        // The turn in progress, once it has committed: its events are kept only then.
        var joined = await runs.JoinTurnAsync(caller.Scope, link.RunId, activity.TurnNumber, TimeSpan.FromSeconds(TurnResults.MaxWaitSeconds), http.RequestAborted);
        if (joined.Result.Outcome is not { } outcome)
        {
            return TypedResults.NoContent();
        }

        var stream = new UiMessageStream(http.Response, new ServerSentEvents(http.Response, json), link.RunId, activity.TurnNumber);
        await stream.StartAsync();
        foreach (var e in outcome.Events)
        {
            await stream.EventAsync(e);
        }

        await stream.EndAsync(outcome.Run);
        return null;
    }

    /// <summary>The chat id: text of 1 to <see cref="MaxChatIdLength"/> printable characters.</summary>
    private static string ChatId(JsonNode? id) =>
        Text(id) is { Length: > 0 and <= MaxChatIdLength } text && text.All(c => !char.IsControl(c))
            ? text
            : throw Invalid("$.id", $"id is the chat's id: text of 1 to {MaxChatIdLength} printable characters.");

    /// <summary>The text parts of the last message, if it is the user's (UIMessage: `role`, `parts`; older `content` too).</summary>
    private static string? LastUserText(JsonNode? messages)
    {
        if (messages is not JsonArray list || list.Count == 0)
        {
            return null;
        }

        if (list[^1] is not JsonObject last || Text(last["role"]) != "user")
        {
            return null;
        }

        if (last["parts"] is JsonArray parts)
        {
            return string.Concat(parts.OfType<JsonObject>().Where(p => Text(p["type"]) == "text").Select(p => Text(p["text"])));
        }

        return Text(last["content"]);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static DomainException Invalid(string path, string message) =>
        FieldErrors.Refusal([new FieldError(path, message)]);
}
