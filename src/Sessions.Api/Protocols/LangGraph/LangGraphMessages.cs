using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>
/// A run's conversation as LangChain messages: `human` for the person's replies, `ai` for what the workflow says and asks. Each
/// message's id comes from where it was said (turn, node, and how many times that node spoke in the turn), so a message
/// streamed while a model writes it and the same message read back later are one message to a client.
/// </summary>
internal sealed class LangGraphMessages(string threadId)
{
    private readonly Dictionary<(int Turn, string Node), int> spoken = [];

    public JsonArray All { get; } = [];

    /// <summary>The message <paramref name="e"/> is, if it is one (and adds it to <see cref="All"/>).</summary>
    public JsonObject? Add(RunEvent e)
    {
        var message = e.Payload switch
        {
            UserMessage user => Human(HumanId(e.TurnNumber), user.Text),
            Said said => Ai(NextAiId(e.TurnNumber, e.NodeId ?? ""), said.Text),

            // The question an ask puts is said to the person too; what it takes is the interrupt's.
            InputAwaited { Prompt.Length: > 0 } awaited => Ai(NextAiId(e.TurnNumber, e.NodeId ?? ""), awaited.Prompt),
            _ => null,
        };
        if (message is not null)
        {
            All.Add(message.DeepClone());
        }

        return message;
    }

    /// <summary>The id the next thing <paramref name="nodeId"/> says in the turn will have, without counting it.</summary>
    public string PeekAiId(int turnNumber, string nodeId) => LangGraphIds.AiMessage(threadId, turnNumber, nodeId, spoken.GetValueOrDefault((turnNumber, nodeId)));

    public static JsonObject Ai(string id, string text, bool chunk = false) => new()
    {
        ["content"] = text,
        ["additional_kwargs"] = new JsonObject(),
        ["response_metadata"] = new JsonObject(),
        ["id"] = id,
        ["type"] = chunk ? "AIMessageChunk" : "ai",
        ["tool_calls"] = new JsonArray(),
        ["invalid_tool_calls"] = new JsonArray(),
    };

    public static JsonObject Human(string id, string text) => new()
    {
        ["content"] = text,
        ["additional_kwargs"] = new JsonObject(),
        ["response_metadata"] = new JsonObject(),
        ["id"] = id,
        ["type"] = "human",
    };

    private string HumanId(int turnNumber) => LangGraphIds.HumanMessage(threadId, turnNumber);

    private string NextAiId(int turnNumber, string nodeId)
    {
        var index = spoken.GetValueOrDefault((turnNumber, nodeId));
        spoken[(turnNumber, nodeId)] = index + 1;
        return LangGraphIds.AiMessage(threadId, turnNumber, nodeId, index);
    }
}
