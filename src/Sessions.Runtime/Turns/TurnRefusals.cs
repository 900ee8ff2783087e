using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns;

/// <summary>The refusals of a turn that met another turn of its run: each a 409 that says nothing was applied.</summary>
public static class TurnRefusals
{
    /// <summary>The refusal of a turn that found its run held by another turn, or moved on since it was read.</summary>
    public static DomainException Conflict(string? why = null) => new(
        ErrorKind.Conflict,
        ProblemCodes.TurnConflict,
        "Turn lost a race",
        why ?? "Another turn of this run is in progress or was just committed; this turn was not applied. Read the run and retry.");

    /// <summary>The refusal of a turn that a stop or an interrupt cancelled while it ran.</summary>
    public static DomainException Cancelled() => new(
        ErrorKind.Conflict,
        ProblemCodes.TurnCancelled,
        "Turn cancelled",
        "A stop or an interrupting turn cancelled this turn while it ran; nothing of it was applied. Read the run.");

    /// <summary>The refusal of a turn sent with `expected_turn` that the run is no longer at.</summary>
    public static DomainException Mismatch(int expected, RunDocument run) =>
        new DomainException(
                ErrorKind.Conflict,
                ProblemCodes.TurnMismatch,
                "Run is at another turn",
                $"expected_turn is {expected} but the run is at turn {run.TurnNumber}: another client moved it. Read the run before answering.")
            .With("current_turn", run.TurnNumber);
}
