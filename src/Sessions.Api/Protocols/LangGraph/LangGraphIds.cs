using System.Globalization;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>
/// The ids LangGraph clients see. A thread's id is its run's (an ObjectId). A LangGraph run is one turn of it, and its id
/// says which, in the UUID form clients expect: the thread's 24 hex digits then the turn number's 8, grouped 8-4-4-4-12.
/// The state after a turn (its checkpoint), and the interrupt a turn ended on, are named by the same 32 digits. Nothing
/// is stored to resolve any of them.
/// </summary>
internal static class LangGraphIds
{
    /// <summary>The thread id as a run id, or a 404 naming it: an id that is no ObjectId names no thread.</summary>
    public static string ThreadOrThrow(string threadId) =>
        ObjectId.TryParse(threadId, out var id) ? id.ToString() : throw ThreadNotFound(threadId);

    /// <summary>The workflow an assistant id names, or a 404 naming it.</summary>
    public static string AssistantOrThrow(string? assistantId) =>
        ObjectId.TryParse(assistantId, out var id)
            ? id.ToString()
            : throw new DomainException(ErrorKind.NotFound, ProblemCodes.WorkflowNotFound, "Assistant not found", $"No assistant '{assistantId}': an assistant is a workflow, named by its workflow_id.")
                .With("assistant_id", assistantId);

    public static DomainException ThreadNotFound(string threadId) =>
        new DomainException(ErrorKind.NotFound, ProblemCodes.ThreadNotFound, "Thread not found", $"Thread with ID {threadId} not found.").With("thread_id", threadId);

    public static string Run(string threadId, int turnNumber) => Uuid(Digits(threadId, turnNumber));

    /// <summary>The turn a run id of this thread names, or a 404 naming the run id.</summary>
    public static int TurnOrThrow(string threadId, string runId)
    {
        var digits = runId.Replace("-", "", StringComparison.Ordinal);
        return digits.Length == 32
            && digits.StartsWith(threadId, StringComparison.Ordinal)
            && int.TryParse(digits.AsSpan(24), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var turn)
            && turn > 0
                ? turn
                : throw new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Run not found", $"Run with ID {runId} not found in thread {threadId}.").With("run_id", runId);
    }

    /// <summary>The state after turn <paramref name="turnNumber"/>.</summary>
    public static string Checkpoint(string threadId, int turnNumber) => Run(threadId, turnNumber);

    /// <summary>The interrupt turn <paramref name="turnNumber"/> ended on.</summary>
    public static string Interrupt(string threadId, int turnNumber) => Digits(threadId, turnNumber);

    /// <summary>The id of the <paramref name="index"/>th thing <paramref name="nodeId"/> said in a turn, the same when streamed and when read back.</summary>
    public static string AiMessage(string threadId, int turnNumber, string nodeId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{Digits(threadId, turnNumber)}-{nodeId}-{index}");

    /// <summary>The id of the person's message of a turn (a turn takes one reply at most).</summary>
    public static string HumanMessage(string threadId, int turnNumber) => $"{Digits(threadId, turnNumber)}-user";

    private static string Digits(string threadId, int turnNumber) => threadId + turnNumber.ToString("x8", CultureInfo.InvariantCulture);

    private static string Uuid(string digits) => $"{digits[..8]}-{digits[8..12]}-{digits[12..16]}-{digits[16..20]}-{digits[20..]}";
}
