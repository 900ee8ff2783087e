using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What a run remembers across turns from its events: the latest messages of the conversation (for model calls that
/// include it) and the totals of its model calls. Kept in step with the events as they are recorded.
/// </summary>
internal sealed class ConversationMemory(RunDocument run)
{
    /// <summary>How many messages of the conversation a run keeps for model calls.</summary>
    public const int Length = 50;

    public JsonArray Messages { get; } = (JsonArray?)run.Conversation?.DeepClone() ?? [];

    public JsonObject? Tokens { get; private set; } = run.LlmTokenUsage;

    public JsonObject? Latency { get; private set; } = run.LlmLatencyStats;

    public void Observe(RunEvent recorded)
    {
        if (recorded.Payload is IConversationLine line)
        {
            Messages.Add(new JsonObject { ["role"] = line.Role, ["text"] = line.Text });
            while (Messages.Count > Length)
            {
                Messages.RemoveAt(0);
            }
        }

        if (recorded.Payload is IModelCall call)
        {
            (Tokens, Latency) = LlmUsage.Add(Tokens, Latency, call);
        }
    }
}
