using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>
/// A LangGraph run as the turn it asks of the thread's run, written as the execute body it amounts to and read by the
/// execute parser, so that it is checked by the same rules: the first run starts the run (its `input` is the run's
/// dynamic variables, a human message in it the first turn's message); later ones answer it (`command: { resume }`, or the last human message of `input.messages`),
/// or resume it when it is paused. `multitask_strategy` is the turn's `on_busy`.
/// </summary>
internal static class LangGraphTurns
{
    public static TurnCall Call(ThreadRead thread, LangGraphRunCreate body, string workflowId, Caller caller, bool inBackground)
    {
        var policy = Policy(body.MultitaskStrategy);
        var run = thread.Run;
        if (run is not null && run.WorkflowId != workflowId)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Thread runs another assistant", $"Thread {thread.ThreadId} runs assistant {run.WorkflowId}, not {workflowId}.")
                .With("assistant_id", body.AssistantId);
        }

        var input = new JsonObject { ["on_busy"] = policy };
        var variables = (JsonObject?)body.Input?.DeepClone() ?? [];
        var said = LastHumanText(variables["messages"]);
        variables.Remove("messages");
        if (run is null)
        {
            if (body.Command?["resume"] is not null)
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Nothing to resume", $"Thread {thread.ThreadId} has not started: its first run starts it, with input.")
                    .With("parameter", "command.resume");
            }

        }
        else
        {
            Command(body.Command, run, input, ref said);
        }

        if (said is not null)
        {
            // On the first run too: the workflow starts where it starts, and what the person said first is in the
            // conversation and in last_user_message for it to read.
            input["user_message"] = said;
        }

        if (variables.Count > 0)
        {
            input["dynamic_variables"] = variables;
        }

        var execute = new JsonObject { ["run_input"] = input };
        if (run is not null)
        {
            execute["run_id"] = run.Id;
            if (policy != "enqueue")
            {
                // The turn this run is, known before it runs: a turn that comes first refuses it instead of renumbering it.
                execute["expected_turn"] = run.TurnNumber;
            }
        }

        var turn = ExecuteRequestParser.Parse(execute, caller.TenantId, workflowId, null);
        turn = turn with { RunBy = caller.RunByFor(turn.RunBy), OnlyRunsBy = caller.OnlyRunsBy, NewRunId = run is null ? thread.ThreadId : null };
        return new TurnCall(turn) { InBackground = inBackground || policy == "enqueue" };
    }

    /// <summary>`multitask_strategy` as `on_busy`.</summary>
    public static string Policy(string? strategy) => strategy switch
    {
        null or "reject" => "reject",
        "enqueue" => "enqueue",
        "interrupt" => "interrupt",
        "rollback" => throw new DomainException(
                ErrorKind.Unprocessable,
                ProblemCodes.NotSupported,
                "Rollback is not supported",
                "multitask_strategy rollback would erase a turn that ran; a turn once committed stays. Use interrupt (the running turn is cancelled and nothing of it is kept) or enqueue.")
            .With("parameter", "multitask_strategy"),
        _ => throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Unknown multitask_strategy", $"multitask_strategy is reject, enqueue or interrupt, not '{strategy}'.")
            .With("parameter", "multitask_strategy"),
    };

    /// <summary>Applies `command` to a started run's turn: `resume` answers it (or resumes it when paused); nothing else is carried out.</summary>
    private static void Command(JsonObject? command, RunDocument run, JsonObject input, ref string? said)
    {
        if (command is null)
        {
            return;
        }

        foreach (var (name, _) in command)
        {
            if (name is not "resume")
            {
                throw new DomainException(
                        ErrorKind.Unprocessable,
                        ProblemCodes.NotSupported,
                        $"command.{name} is not supported",
                        "A workflow decides where it goes and what it keeps; a run is answered with command.resume only.")
                    .With("parameter", $"command.{name}");
            }
        }

        if (!command.TryGetPropertyValue("resume", out var resume))
        {
            return;
        }

        if (run.Status == RunStatus.Paused)
        {
            input["command"] = "resume";
            return;
        }

        said = resume switch
        {
            JsonValue text when text.GetValueKind() == JsonValueKind.String => text.GetValue<string>(),
            JsonValue value when value.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.ToJsonString(),
            _ => throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "Invalid resume value", "command.resume is the reply: text, or a number or boolean (sent as its text).")
                .With("parameter", "command.resume"),
        };
    }

    /// <summary>The text of the last human message in `messages` (LangChain's shapes: `type`/`role`, text or content blocks).</summary>
    private static string? LastHumanText(JsonNode? messages)
    {
        foreach (var message in (messages as JsonArray ?? []).Reverse().OfType<JsonObject>())
        {
            var kind = (message["type"] ?? message["role"]) is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null;
            if (kind is not ("human" or "user"))
            {
                continue;
            }

            return message["content"] switch
            {
                JsonValue text when text.GetValueKind() == JsonValueKind.String => text.GetValue<string>(),
                JsonArray blocks => string.Concat(blocks.OfType<JsonObject>().Where(b => b["type"]?.ToString() == "text").Select(b => b["text"]?.ToString())),
                _ => null,
            };
        }

        return null;
    }
}
