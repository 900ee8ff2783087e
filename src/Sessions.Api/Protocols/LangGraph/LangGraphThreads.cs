using System.Text.Json.Nodes;
using Sessions.Runtime.Conversations;
using Sessions.Runtime.Facade;
using Sessions.Runtime.History;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>A thread as read: its run (null before the first LangGraph run on it), what the run is doing, and its name.</summary>
internal sealed record ThreadRead(string ThreadId, RunDocument? Run, RunActivity? Activity, ConversationLink? Link, string? WorkflowName);

/// <summary>
/// Threads read through the run facade. A thread is a run: its values are the run's variables and its conversation
/// (`messages`), its status the run's, its interrupt what the run waits for. A thread made before its first run is only
/// a name (<see cref="ConversationLink"/>) until then.
/// </summary>
internal static class LangGraphThreads
{
    public static async Task<ThreadRead> ReadAsync(RunFacade runs, ConversationDirectory names, RunScope scope, string threadId, CancellationToken cancellationToken)
    {
        var id = LangGraphIds.ThreadOrThrow(threadId);
        var link = await names.FindAsync(scope, ConversationProtocols.LangGraph, id, cancellationToken);
        var details = await runs.FindDetailsAsync(scope, id, cancellationToken);
        return details is null && link is null
            ? throw LangGraphIds.ThreadNotFound(threadId)
            : new ThreadRead(id, details?.Run, details?.Activity, link, details?.WorkflowName);
    }

    /// <summary>idle, busy, interrupted or error, as LangGraph names a thread's state.</summary>
    public static string Status(ThreadRead thread) => thread.Run switch
    {
        null => "idle",
        _ when thread.Activity is not null => "busy",
        { Status: RunStatus.Running } => "busy",
        { Status: RunStatus.WaitingForUserInput or RunStatus.Paused } => "interrupted",
        { Status: RunStatus.Failed or RunStatus.AbortedLoopingRisk } => "error",
        _ => "idle",
    };

    /// <summary>The run's variables and its conversation up to a turn (all of it when null), as a thread's values.</summary>
    public static async Task<JsonObject> ValuesAsync(RunFacade runs, RunDocument run, JsonObject variables, int? uptoTurn, CancellationToken cancellationToken)
    {
        var messages = new LangGraphMessages(run.Id);
        await foreach (var turn in runs.ReadAllTurnsAsync(run, cancellationToken))
        {
            if (turn.Turn.TurnNumber > (uptoTurn ?? int.MaxValue))
            {
                break;
            }

            foreach (var e in turn.Events)
            {
                messages.Add(e);
            }
        }

        return WithMessages(variables, messages.All);
    }

    public static JsonObject WithMessages(JsonObject variables, JsonArray messages)
    {
        var values = (JsonObject)variables.DeepClone();
        values["messages"] = messages.DeepClone();
        return values;
    }

    /// <summary>What a run in this state waits for, as interrupts: its input hint, or that it is paused; none otherwise.</summary>
    public static IReadOnlyList<LangGraphInterrupt> Interrupts(RunDocument run)
    {
        var id = LangGraphIds.Interrupt(run.Id, run.TurnNumber);
        return run switch
        {
            { Status: RunStatus.WaitingForUserInput, WaitingHint: { } hint } => [new LangGraphInterrupt(id, (JsonObject)hint.DeepClone())],
            { Status: RunStatus.Paused } => [new LangGraphInterrupt(id, new JsonObject
            {
                ["paused"] = true,
                ["node_id"] = run.CursorNodeId,
                ["message"] = "The run is paused; resume it with command { resume: true }.",
            })],
            _ => [],
        };
    }

    /// <summary>The node a run in this state is at, if it waits there.</summary>
    public static IReadOnlyList<LangGraphTask> Tasks(RunDocument run)
    {
        var interrupts = Interrupts(run);
        var node = run.WaitingNodeId ?? run.CursorNodeId;
        return interrupts.Count == 0 || node is null
            ? []
            : [new LangGraphTask(LangGraphIds.Run(run.Id, run.TurnNumber), node, null, interrupts, ["__pregel_pull", node], null, null, null)];
    }

    public static LangGraphThread Thread(ThreadRead thread, JsonObject? values)
    {
        var metadata = (JsonObject?)thread.Link?.Metadata.DeepClone() ?? [];
        var interrupts = new JsonObject();
        if (thread.Run is { } run)
        {
            metadata["graph_id"] = run.WorkflowId;
            metadata["assistant_id"] = run.WorkflowId;
            foreach (var task in Tasks(run))
            {
                interrupts[task.Id] = System.Text.Json.JsonSerializer.SerializeToNode(task.Interrupts, Sessions.Runtime.Turns.Answers.ProtocolJson.Options);
            }
        }

        return new LangGraphThread(
            thread.ThreadId,
            thread.Link?.CreatedAt ?? thread.Run!.CreatedAt,
            thread.Run?.UpdatedAt ?? thread.Link!.UpdatedAt,
            metadata,
            Status(thread),
            [],
            values,
            interrupts);
    }

    /// <summary>The state of a thread whose run is <paramref name="run"/> after its turn <paramref name="turnNumber"/>.</summary>
    public static LangGraphThreadState State(string threadId, RunDocument run, int turnNumber, JsonObject values, DateTimeOffset at) => new(
        values,
        Tasks(run).Select(t => t.Name).ToList(),
        Tasks(run),
        new JsonObject
        {
            ["source"] = "loop",
            ["step"] = turnNumber,
            ["run_id"] = LangGraphIds.Run(threadId, turnNumber),
            ["thread_id"] = threadId,
            ["graph_id"] = run.WorkflowId,
            ["assistant_id"] = run.WorkflowId,
            ["parents"] = new JsonObject(),
        },
        at,
        Checkpoint(threadId, turnNumber),
        Checkpoint(threadId, turnNumber - 1));

    /// <summary>The state of a thread that has no run yet.</summary>
    public static LangGraphThreadState Empty() => new([], [], [], [], null, null, null);

    private static LangGraphCheckpoint? Checkpoint(string threadId, int turnNumber) =>
        turnNumber < 1 ? null : new LangGraphCheckpoint(threadId, "", LangGraphIds.Checkpoint(threadId, turnNumber), null);
}
