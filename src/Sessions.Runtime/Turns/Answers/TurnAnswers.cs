using System.Text.Json;

namespace Sessions.Runtime.Turns.Answers;

/// <summary>
/// A turn's answer as its client receives it: execute's JSON (<see cref="ExecuteResponse"/>), or the `202 Accepted` of a
/// turn accepted to run in the background. Written once, before the turn commits, so that an answer that cannot be
/// written refuses the turn instead of failing after it was applied, and stored under the turn's idempotency key in the
/// same transaction, so that a retry gets it byte for byte.
/// </summary>
public class TurnAnswers
{
    public virtual string Write(TurnOutcome outcome) => JsonSerializer.Serialize(ExecuteResponse.From(outcome), ProtocolJson.Options);

    public virtual string WriteAccepted(AcceptedTurn accepted) => JsonSerializer.Serialize(BackgroundTurnResponse.Accepted(accepted), ProtocolJson.Options);
}
