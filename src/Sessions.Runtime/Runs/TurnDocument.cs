using System.Text.Json.Nodes;

namespace Sessions.Runtime.Runs;

/// <summary>One accepted turn as an input/output pair: what the client sent, and the outcome with the seq range of its events.</summary>
/// <remarks>
/// The run as this turn left it (the checkpoint that forks start from) is either <see cref="StateAfter"/>, whole, or
/// <see cref="Changes"/> against the turn before; <see cref="Runs.Checkpoints"/> decides which and rebuilds either.
/// </remarks>
public sealed record TurnDocument(
    string RunId,
    int TurnNumber,
    JsonObject Input,
    JsonObject Output,
    long FirstSeq,
    long LastSeq,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    RunDocument? StateAfter = null,
    JsonObject? Changes = null)
{
    /// <summary>The calls the turn's nodes made outside the server, in order, for recorded replays; null when none.</summary>
    public IReadOnlyList<Recordings.RecordedCall>? Calls { get; init; }

    // The fields of Output: the run's status and error after the turn, and the hint it waits with.
    public const string OutputStatus = "status";
    public const string OutputError = "error";
    public const string OutputHint = "next_input_hint";

    /// <summary>The <see cref="Output"/> of a turn that left <paramref name="run"/>.</summary>
    public static JsonObject OutputOf(RunDocument run) => new()
    {
        [OutputStatus] = run.Status.ToWire(),
        [OutputError] = run.Error,
        [OutputHint] = HintOf(run)?.DeepClone(),
    };

    /// <summary>The input a run waits for: its waiting hint while it waits for input, null otherwise.</summary>
    public static JsonObject? HintOf(RunDocument run) => run.Status == RunStatus.WaitingForUserInput ? run.WaitingHint : null;
}
