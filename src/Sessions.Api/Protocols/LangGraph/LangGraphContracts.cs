using System.ComponentModel;
using System.Text.Json.Nodes;

namespace Sessions.Api.Protocols.LangGraph;

// The JSON of LangGraph's Agent Server API, as its SDK (`@langchain/langgraph-sdk`) reads it. Names are the API's own
// (the host writes snake_case); values that are a client's own data (metadata, config) are kept as it sent them.

/// <summary>An assistant: a workflow, under its id both as `assistant_id` and `graph_id`.</summary>
public sealed record LangGraphAssistant(
    string AssistantId,
    string GraphId,
    [property: Description("The workflow's active version.")] int Version,
    string Name,
    string? Description,
    JsonObject Config,
    JsonObject Context,
    JsonObject Metadata,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A version of an assistant: a version of its workflow.</summary>
public sealed record LangGraphAssistantVersion(
    string AssistantId,
    string GraphId,
    int Version,
    string Name,
    JsonObject Config,
    JsonObject Context,
    JsonObject Metadata,
    DateTimeOffset CreatedAt);

/// <summary>A thread: a run of a workflow, or a name for the run its first LangGraph run will start.</summary>
public sealed record LangGraphThread(
    string ThreadId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    JsonObject Metadata,
    [property: Description("idle (no run yet, or finished), busy (a turn is running or queued), interrupted (waiting for input, or paused), error (failed).")] string Status,
    JsonObject Config,
    [property: Description("The run's variables and its conversation as `messages`; null before its first run.")] JsonObject? Values,
    [property: Description("While it waits: the interrupts by task id.")] JsonObject Interrupts);

/// <summary>Where a state was taken: after a turn of the run.</summary>
public sealed record LangGraphCheckpoint(string ThreadId, string CheckpointNs, string CheckpointId, JsonObject? CheckpointMap);

/// <summary>An interrupt: what the run waits for (its `next_input_hint`), or that it is paused.</summary>
public sealed record LangGraphInterrupt(string Id, JsonObject Value);

/// <summary>The node a waiting run is at, with its interrupt.</summary>
public sealed record LangGraphTask(
    string Id,
    string Name,
    string? Error,
    IReadOnlyList<LangGraphInterrupt> Interrupts,
    IReadOnlyList<string> Path,
    JsonObject? Checkpoint,
    JsonObject? State,
    JsonNode? Result);

/// <summary>A thread's state after one of its turns (the newest, or a checkpoint's).</summary>
public sealed record LangGraphThreadState(
    JsonObject Values,
    IReadOnlyList<string> Next,
    IReadOnlyList<LangGraphTask> Tasks,
    JsonObject Metadata,
    DateTimeOffset? CreatedAt,
    LangGraphCheckpoint? Checkpoint,
    LangGraphCheckpoint? ParentCheckpoint);

/// <summary>A LangGraph run: one turn of the thread's run.</summary>
public sealed record LangGraphRun(
    string RunId,
    string ThreadId,
    string AssistantId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    [property: Description("pending (queued), running, success (committed, whether the run then waits or ended), error (failed, or refused when its time came), interrupted.")] string Status,
    JsonObject Metadata,
    string MultitaskStrategy,
    JsonObject Kwargs);

/// <summary>`POST /threads`: a thread before its first run.</summary>
public sealed record LangGraphThreadCreate(
    [property: Description("An id of your own (24 hex characters, as run ids are); a new one when absent.")] string? ThreadId,
    JsonObject? Metadata,
    [property: Description("raise (default: 409 if the id exists) or do_nothing (answer the existing thread).")] string? IfExists);

/// <summary>`POST /threads/{thread_id}/runs...`: what one LangGraph run asks of the thread.</summary>
public sealed record LangGraphRunCreate(
    [property: Description("The workflow's id.")] string AssistantId,
    [property: Description("First run: the run's dynamic variables (a last human message in `messages` is the first turn's message, and so `last_user_message`). Later runs: a last human message in `messages` is the reply.")] JsonObject? Input,
    [property: Description("`{ resume: value }`: the reply to the interrupt (text, or a number or boolean as its text), or resumes a paused run.")] JsonObject? Command,
    [property: Description("values (default), updates, messages-tuple, messages, custom (the Sessions events), events, debug.")] JsonNode? StreamMode,
    [property: Description("reject (default: 422 while a turn runs), enqueue, interrupt; rollback is refused.")] string? MultitaskStrategy,
    JsonObject? Metadata,
    JsonObject? Config,
    [property: Description("create: make the thread if it does not exist.")] string? IfNotExists,
    [property: Description("Only the thread's last checkpoint: a run goes on from its last turn.")] JsonObject? Checkpoint)
{
    /// <summary>What else the client sent (the SDK sends more than a workflow has a use for); read where it matters.</summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; init; }
}
