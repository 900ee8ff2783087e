using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Api.Http;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>
/// One turn as LangGraph's stream modes show it. Every message's SSE id is the seq of the last event it reflects, so a
/// client that reconnects with `Last-Event-ID` is sent what came after. The stream opens with `metadata` and ends by
/// closing (LangGraph sends no end event):
/// <list type="bullet">
/// <item>`values`: the thread's values before the turn and after it, then `{ __interrupt__ }` if it waits;</item>
/// <item>`updates`: per node, the messages it said and the variables a `set` showed; `{ __interrupt__ }` at a wait;</item>
/// <item>`messages-tuple` (event `messages`): each message with its metadata, a model's reply chunk by chunk;</item>
/// <item>`messages`: `messages/metadata`, `messages/partial`, `messages/complete`;</item>
/// <item>`custom`: each Sessions event as the execute protocol writes it;</item>
/// <item>`events` and `debug`: node starts and ends, model chunks, and the checkpoint after the turn;</item>
/// <item>`tasks`: each node as it starts and as it ends, with what it wrote; `checkpoints`: the checkpoint after the turn;</item>
/// <item>`tools` and `lifecycle` are taken and send nothing: a workflow calls no tools and has no subgraphs.</item>
/// </list>
/// </summary>
internal sealed class LangGraphStream(ServerSentEvents sse, IReadOnlySet<string> modes, string threadId, string workflowId, int turnNumber)
{
    /// <summary>The stream modes a client may ask for; `values` when it asks for none.</summary>
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(
        ["values", "updates", "messages-tuple", "messages", "custom", "events", "debug", "tasks", "checkpoints", "tools", "lifecycle"], StringComparer.Ordinal);

    private readonly LangGraphMessages messages = new(threadId);
    private readonly Dictionary<string, (string Id, string Text)> streaming = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> updates = new(StringComparer.Ordinal);
    private long lastSeq;

    private string RunId => LangGraphIds.Run(threadId, turnNumber);

    /// <summary>The modes asked for (`stream_mode`: one name or a list), or a 422 naming one it does not know.</summary>
    public static IReadOnlySet<string> Modes(JsonNode? streamMode)
    {
        var asked = streamMode switch
        {
            null => ["values"],
            JsonValue one when one.GetValueKind() == JsonValueKind.String => [one.GetValue<string>()],
            JsonArray many => many.Select(m => m is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "").ToList(),
            _ => new List<string> { "" },
        };
        var unknown = asked.FirstOrDefault(m => !Known.Contains(m));
        if (unknown is not null)
        {
            throw new Sessions.Runtime.Errors.DomainException(
                    Sessions.Runtime.Errors.ErrorKind.Unprocessable,
                    Sessions.Runtime.Errors.ProblemCodes.InvalidRequest,
                    "Unknown stream mode",
                    $"stream_mode '{unknown}' is not one of {string.Join(", ", Known)}.")
                .With("parameter", "stream_mode");
        }

        return asked.Count == 0 ? new HashSet<string>(["values"]) : asked.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// `metadata`, then the values before the turn. A stream joined again after some of its messages
    /// (<paramref name="valuesBefore"/> null) sends neither: the client has them; the messages its events said are
    /// counted, so that the rest keep their ids.
    /// </summary>
    public async Task StartAsync(long lastSeqBefore, JsonObject? valuesBefore, IEnumerable<RunEvent> eventsBefore)
    {
        lastSeq = lastSeqBefore;
        foreach (var e in eventsBefore.Where(e => e.TurnNumber == turnNumber))
        {
            messages.Add(e);
        }

        if (valuesBefore is null)
        {
            return;
        }

        await WriteAsync("metadata", new JsonObject { ["run_id"] = RunId, ["attempt"] = 1 });
        if (modes.Contains("values"))
        {
            await WriteAsync("values", valuesBefore);
        }
    }

    public async Task EventAsync(RunEvent e)
    {
        lastSeq = e.Seq;
        var node = e.NodeId ?? "";
        if (modes.Contains("custom"))
        {
            await WriteAsync("custom", JsonSerializer.SerializeToNode(EventContract.From(e), ProtocolJson.Options)!);
        }

        if (messages.Add(e) is { } message)
        {
            var wasStreamed = e.Payload is Said && streaming.Remove(node, out var streamed) && streamed.Id == message["id"]!.GetValue<string>();
            await MessageAsync(message, node, wasStreamed);
            Update(node)["messages"] ??= new JsonArray();
            Update(node)["messages"]!.AsArray().Add(message.DeepClone());
        }

        switch (e.Payload)
        {
            case StateShown shown:
                foreach (var (name, value) in shown.Variables)
                {
                    Update(node)[name] = value?.DeepClone();
                }

                break;
            case NodeStarted:
                await ChainAsync("on_chain_start", node, new JsonObject { ["input"] = new JsonObject() });
                var task = new JsonObject { ["id"] = $"{RunId}-{node}", ["name"] = node, ["input"] = new JsonObject(), ["triggers"] = new JsonArray($"branch:to:{node}") };
                await TaskAsync(task);
                await DebugAsync("task", task);
                break;
            case NodeEnded:
                var update = updates.Remove(node, out var written) ? written : null;
                if (modes.Contains("updates") && update is not null)
                {
                    await WriteAsync("updates", new JsonObject { [node] = update });
                }

                await ChainAsync("on_chain_end", node, new JsonObject { ["output"] = update?.DeepClone() });

                // What the node wrote, as LangGraph lists a task's writes: [channel, value] pairs.
                var writes = new JsonArray((update ?? []).Select(p => (JsonNode?)new JsonArray(p.Key, p.Value?.DeepClone())).ToArray());
                var result = new JsonObject { ["id"] = $"{RunId}-{node}", ["name"] = node, ["result"] = writes, ["error"] = null, ["interrupts"] = new JsonArray() };
                await TaskAsync(result);
                await DebugAsync("task_result", result);
                break;
        }
    }

    /// <summary>A piece of what a model is writing for <paramref name="nodeId"/>: a chunk of the message it will say.</summary>
    public async Task DeltaAsync(string nodeId, string text)
    {
        var id = streaming.TryGetValue(nodeId, out var so) ? so.Id : messages.PeekAiId(turnNumber, nodeId);
        var whole = (so.Text ?? "") + text;
        streaming[nodeId] = (id, whole);
        if (modes.Contains("messages-tuple"))
        {
            await WriteAsync("messages", new JsonArray(LangGraphMessages.Ai(id, text, chunk: true), Metadata(nodeId)));
        }

        if (modes.Contains("messages"))
        {
            if (so.Id is null)
            {
                await WriteAsync("messages/metadata", new JsonObject { [id] = new JsonObject { ["metadata"] = Metadata(nodeId) } });
            }

            await WriteAsync("messages/partial", new JsonArray(LangGraphMessages.Ai(id, whole)));
        }

        if (modes.Contains("events"))
        {
            await WriteAsync("events", Chain("on_chat_model_stream", nodeId, new JsonObject { ["chunk"] = LangGraphMessages.Ai(id, text, chunk: true) }));
        }
    }

    /// <summary>The values after the turn, then, if the run now waits, its interrupt.</summary>
    public async Task EndAsync(RunDocument after, JsonObject valuesAfter)
    {
        var interrupts = JsonSerializer.SerializeToNode(LangGraphThreads.Interrupts(after), ProtocolJson.Options)!.AsArray();
        if (modes.Contains("values"))
        {
            await WriteAsync("values", valuesAfter);
        }

        if (interrupts.Count > 0)
        {
            if (modes.Contains("updates"))
            {
                await WriteAsync("updates", new JsonObject { ["__interrupt__"] = interrupts.DeepClone() });
            }

            if (modes.Contains("values"))
            {
                await WriteAsync("values", new JsonObject { ["__interrupt__"] = interrupts.DeepClone() });
            }
        }

        var checkpoint = new JsonObject
        {
            ["config"] = Config(turnNumber),
            ["parent_config"] = turnNumber > 1 ? Config(turnNumber - 1) : null,
            ["values"] = valuesAfter.DeepClone(),
            ["metadata"] = new JsonObject { ["source"] = "loop", ["step"] = turnNumber },
            ["next"] = new JsonArray(LangGraphThreads.Tasks(after).Select(t => (JsonNode?)t.Name).ToArray()),
            ["tasks"] = JsonSerializer.SerializeToNode(LangGraphThreads.Tasks(after), ProtocolJson.Options),
        };
        if (modes.Contains("checkpoints"))
        {
            await WriteAsync("checkpoints", checkpoint.DeepClone());
        }

        await DebugAsync("checkpoint", checkpoint);

        JsonObject Config(int turn) => new() { ["configurable"] = new JsonObject { ["thread_id"] = threadId, ["checkpoint_ns"] = "", ["checkpoint_id"] = LangGraphIds.Checkpoint(threadId, turn) } };
    }

    /// <summary>A failure after the stream began: LangGraph's `error` event, with the problem's code and detail.</summary>
    public Task ErrorAsync(string code, string message) => WriteAsync("error", new JsonObject { ["error"] = code, ["message"] = message });

    private JsonObject Update(string node)
    {
        if (!updates.TryGetValue(node, out var update))
        {
            update = [];
            updates[node] = update;
        }

        return update;
    }

    private async Task MessageAsync(JsonObject message, string node, bool wasStreamed)
    {
        var id = message["id"]!.GetValue<string>();
        if (modes.Contains("messages-tuple") && !wasStreamed)
        {
            await WriteAsync("messages", new JsonArray(message.DeepClone(), Metadata(node)));
        }

        if (modes.Contains("messages"))
        {
            if (!wasStreamed)
            {
                await WriteAsync("messages/metadata", new JsonObject { [id] = new JsonObject { ["metadata"] = Metadata(node) } });
            }

            await WriteAsync("messages/complete", new JsonArray(message.DeepClone()));
        }
    }

    private Task ChainAsync(string kind, string node, JsonObject data) =>
        modes.Contains("events") ? WriteAsync("events", Chain(kind, node, data)) : Task.CompletedTask;

    private JsonObject Chain(string kind, string node, JsonObject data) => new()
    {
        ["event"] = kind,
        ["name"] = node,
        ["run_id"] = RunId,
        ["tags"] = new JsonArray(),
        ["metadata"] = Metadata(node),
        ["data"] = data,
    };

    private Task TaskAsync(JsonObject task) => modes.Contains("tasks") ? WriteAsync("tasks", task.DeepClone()) : Task.CompletedTask;

    private Task DebugAsync(string type, JsonObject payload) =>
        modes.Contains("debug")
            ? WriteAsync("debug", new JsonObject { ["type"] = type, ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"), ["step"] = turnNumber, ["payload"] = payload })
            : Task.CompletedTask;

    private JsonObject Metadata(string node) => new()
    {
        ["tags"] = new JsonArray(),
        ["name"] = node,
        ["thread_id"] = threadId,
        ["run_id"] = RunId,
        ["graph_id"] = workflowId,
        ["assistant_id"] = workflowId,
        ["langgraph_step"] = turnNumber,
        ["langgraph_node"] = node,
        ["langgraph_checkpoint_ns"] = "",
    };

    private Task WriteAsync(string eventName, JsonNode data) =>
        sse.WriteRawAsync(eventName, data.ToJsonString(ProtocolJson.Options), lastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
