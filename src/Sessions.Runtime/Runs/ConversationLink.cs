using System.Text.Json.Nodes;

namespace Sessions.Runtime.Runs;

/// <summary>
/// A conversation as another protocol names it — a LangGraph thread, an AI SDK chat id — and the run that is that
/// conversation here. The run's id is fixed when the link is made, before its first turn: a LangGraph thread exists
/// before any run on it, and two first messages of one chat must start one run, not two.
/// </summary>
/// <param name="Protocol">Which protocol's names these are (<see cref="ConversationProtocols"/>); each has its own.</param>
/// <param name="ExternalId">The protocol's name of the conversation, unique per tenant and protocol.</param>
/// <param name="RunId">The run that is the conversation: it may not exist yet, until its first turn.</param>
/// <param name="Metadata">What the client keeps with the conversation (a LangGraph thread's metadata).</param>
/// <param name="CreatedBy">The principal that made it; a viewer sees only its own conversations, as with runs.</param>
public sealed record ConversationLink(
    string TenantId,
    string Protocol,
    string ExternalId,
    string RunId,
    JsonObject Metadata,
    string? CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>The protocols whose conversation names the server keeps.</summary>
public static class ConversationProtocols
{
    /// <summary>LangGraph's Agent Server API: a thread id, which is also its run's id.</summary>
    public const string LangGraph = "langgraph";

    /// <summary>The AI SDK's chat: the id `useChat` gives a conversation.</summary>
    public const string AiSdk = "ai-sdk";
}
