namespace Sessions.Runtime.Turns;

/// <summary>
/// Writes a turn's answer as its client receives it; the API says what an answer is. The engine calls it once, before
/// the commit, so that an answer that cannot be written refuses the turn instead of failing after it was applied; a turn
/// under an idempotency key stores this text in the same transaction, so that a retry gets the answer byte for byte.
/// </summary>
public interface ITurnAnswerWriter
{
    string Write(TurnOutcome outcome);

    /// <summary>The `202 Accepted` answer of a turn accepted to run in the background, stored under its idempotency key alike.</summary>
    string WriteAccepted(AcceptedTurn accepted);
}
