using System.Text.Json.Nodes;
using Sessions.Api.Http;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Protocols.AiSdk;

/// <summary>
/// One turn as the AI SDK's UI message stream (what `useChat` reads): one assistant message per turn, opened by
/// `start` with the run, turn and status as its metadata, one text part for each thing the workflow says or asks (a
/// model's reply streamed delta by delta as it is written), a `data-next-input-hint` part with what the run waits for,
/// and `finish`, then `[DONE]`. A failure after the stream began is an `error` chunk.
/// </summary>
internal sealed class UiMessageStream(HttpResponse response, ServerSentEvents sse, string runId, int turnNumber)
{
    /// <summary>The header by which the AI SDK knows a UI message stream.</summary>
    public const string Header = "x-vercel-ai-ui-message-stream";

    /// <summary>The data part that carries the hint: `data-` and its name, as the AI SDK types data parts.</summary>
    public const string HintPart = "data-next-input-hint";

    private readonly Dictionary<string, string> open = new(StringComparer.Ordinal);
    private int parts;

    public bool Started => sse.Started;

    /// <summary>The message's id: the turn's, so that a message and the turn it shows are one thing.</summary>
    public string MessageId => $"{runId}-{turnNumber}";

    public async Task StartAsync()
    {
        if (sse.Started)
        {
            return;
        }

        response.Headers[Header] = "v1";
        await WriteAsync(new JsonObject
        {
            ["type"] = "start",
            ["messageId"] = MessageId,
            ["messageMetadata"] = new JsonObject { ["run_id"] = runId, ["turn_number"] = turnNumber },
        });
        await WriteAsync(new JsonObject { ["type"] = "start-step" });
    }

    public async Task EventAsync(RunEvent e)
    {
        var node = e.NodeId ?? "";
        switch (e.Payload)
        {
            case Said when open.Remove(node, out var streamed):
                // A model's reply, already streamed delta by delta: its whole text is what the deltas made.
                await WriteAsync(new JsonObject { ["type"] = "text-end", ["id"] = streamed });
                break;
            case Said said:
                await TextAsync(said.Text);
                break;
            case InputAwaited { Prompt.Length: > 0 } awaited:
                await TextAsync(awaited.Prompt);
                break;
        }
    }

    /// <summary>A piece of what a model is writing for <paramref name="nodeId"/>.</summary>
    public async Task DeltaAsync(string nodeId, string text)
    {
        if (!open.TryGetValue(nodeId, out var id))
        {
            id = NextPartId();
            open[nodeId] = id;
            await WriteAsync(new JsonObject { ["type"] = "text-start", ["id"] = id });
        }

        await WriteAsync(new JsonObject { ["type"] = "text-delta", ["id"] = id, ["delta"] = text });
    }

    /// <summary>The hint of the wait the turn ended at (null when it ended elsewhere), then `finish` with the run's status.</summary>
    public async Task EndAsync(RunDocument after)
    {
        foreach (var id in open.Values)
        {
            await WriteAsync(new JsonObject { ["type"] = "text-end", ["id"] = id });
        }

        open.Clear();
        await WriteAsync(new JsonObject
        {
            ["type"] = HintPart,
            ["id"] = $"{MessageId}-hint",
            ["data"] = new JsonObject
            {
                ["status"] = after.Status.ToWire(),
                ["next_input_hint"] = TurnDocument.HintOf(after)?.DeepClone(),
            },
        });
        await WriteAsync(new JsonObject { ["type"] = "finish-step" });
        var failed = after.Status is RunStatus.Failed or RunStatus.AbortedLoopingRisk;
        var metadata = new JsonObject { ["run_id"] = runId, ["turn_number"] = turnNumber, ["status"] = after.Status.ToWire() };
        if (failed && after.Error is { } error)
        {
            metadata["error"] = error;
        }

        await WriteAsync(new JsonObject { ["type"] = "finish", ["finishReason"] = failed ? "error" : "stop", ["messageMetadata"] = metadata });
        await sse.WriteRawAsync(null, "[DONE]", (string?)null);
    }

    /// <summary>A failure after the stream began: the AI SDK's `error` chunk, whose text `useChat` shows as its error.</summary>
    public async Task ErrorAsync(string code, string detail)
    {
        await WriteAsync(new JsonObject { ["type"] = "error", ["errorText"] = $"{code}: {detail}" });
        await sse.WriteRawAsync(null, "[DONE]", (string?)null);
    }

    private async Task TextAsync(string text)
    {
        var id = NextPartId();
        await WriteAsync(new JsonObject { ["type"] = "text-start", ["id"] = id });
        await WriteAsync(new JsonObject { ["type"] = "text-delta", ["id"] = id, ["delta"] = text });
        await WriteAsync(new JsonObject { ["type"] = "text-end", ["id"] = id });
    }

    private string NextPartId() => $"{MessageId}-{parts++}";

    private Task WriteAsync(JsonObject chunk) => sse.WriteRawAsync(null, chunk.ToJsonString(ProtocolJson.Options), (string?)null);
}
