namespace Sessions.Runtime.Turns;

/// <summary>
/// Writes a turn's answer as its client receives it. A turn taken under an idempotency key stores this text in the
/// same transaction as the turn, so that a retry gets the first answer byte for byte; the API says what an answer is.
/// </summary>
public interface ITurnAnswerWriter
{
    string Write(TurnOutcome outcome);
}
