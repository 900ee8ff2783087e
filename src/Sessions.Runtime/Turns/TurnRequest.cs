using Sessions.Runtime.Runs;
using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

public enum TurnCommand
{
    Start,
    Data,
    Resume,
    Pause,
    Stop,

    /// <summary>Runs a failed run again, in place, from the node that failed.</summary>
    Retry,
}

/// <summary>What a turn does when it finds its run busy: another turn running, or background turns queued.</summary>
public enum BusyPolicy
{
    /// <summary>Refused with 409 `turn_conflict`, changing nothing.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("reject")] Reject,

    /// <summary>Runs after the turns ahead of it, in arrival order, against the state they leave.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("enqueue")] Enqueue,

    /// <summary>The running turn is cancelled (nothing of it is kept) and this one runs against the state before it.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("interrupt")] Interrupt,
}

/// <summary>One turn as the runtime sees it, after the API has checked the request's shape.</summary>
public sealed record TurnRequest
{
    public required string TenantId { get; init; }

    public required string WorkflowId { get; init; }

    /// <summary>Absent on the first turn, which creates the run.</summary>
    public string? RunId { get; init; }

    /// <summary>
    /// First turn only: the id the new run takes, named before the run existed (a LangGraph thread, an AI SDK chat).
    /// A run that has it already refuses the turn: two first turns of one conversation start one run.
    /// </summary>
    public string? NewRunId { get; init; }

    public TurnCommand Command { get; init; } = TurnCommand.Start;

    public string? UserMessage { get; init; }

    public JsonObject? DynamicVariables { get; init; }

    public JsonObject? RuntimeVariables { get; init; }

    public string? RunBy { get; init; }

    /// <summary>Used on the first turn only; later turns run the version the first turn pinned.</summary>
    public int? VersionNumber { get; init; }

    /// <summary>First turn only: a URL that gets every webhook event of the run.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>First turn only: labels to find the run by (<see cref="RunLabels"/>).</summary>
    public JsonObject? Metadata { get; init; }

    public string? OriginInstance { get; init; }

    public string? OriginZone { get; init; }

    public string? OriginReference { get; init; }

    /// <summary>For a first turn made by a replay: the run it replays.</summary>
    public string? ReplayOf { get; init; }

    /// <summary>For a turn made by a replay: how its nodes' calls are answered (from the source run's recording, or live).</summary>
    public Recordings.ReplayedCalls? ReplayedCalls { get; init; }

    /// <summary>For `stop`: why, as recorded on the `cancelled` event, and what to record as the termination source.</summary>
    public string? CancelReason { get; init; }

    public TerminationSource CancelSource { get; init; } = TerminationSource.UserStop;

    /// <summary>When set, runs started by anyone else are treated as missing (a viewer sees only its own runs).</summary>
    public string? OnlyRunsBy { get; init; }

    /// <summary>For a timer's own turn: the timer, which the run must still have, exactly.</summary>
    public RunTimer? FiredTimer { get; init; }

    /// <summary>`run_input.on_busy`: what to do if another turn runs, or background turns are queued. A stop always interrupts.</summary>
    public BusyPolicy OnBusy { get; init; } = BusyPolicy.Reject;

    /// <summary>For work a worker does (a timer, a background turn): the `traceparent` of the span that left it, which the turn's span links to.</summary>
    public string? ScheduledBy { get; init; }

    /// <summary>For a worker running a background turn: the queued turn, which must still be first in the run's queue.</summary>
    public QueuedTurn? Queued { get; init; }

    /// <summary>Set by the engine for a `retry` that moved the run to <see cref="VersionNumber"/>: the version it was on.</summary>
    public int? RetriedFromVersion { get; init; }

    /// <summary>When set, the turn is refused with 409 `turn_mismatch` unless the run is at this turn number.</summary>
    public int? ExpectedTurn { get; init; }

    /// <summary>The idempotency key this turn runs under, already claimed; its answer is stored with the turn.</summary>
    public KeyClaim? Idempotency { get; init; }

    /// <summary>The run input as the client sent it, kept with the turn so the conversation can be read back.</summary>
    public JsonObject RecordedInput { get; init; } = new();

    /// <summary>The files sent with the turn, as its recorded input keeps them (the server writes them there, never a client).</summary>
    public IReadOnlyList<UploadedFile> Files => UploadedFile.Of(RecordedInput);
}

/// <summary>The run after an accepted turn, and every event the turn produced.</summary>
public sealed record TurnOutcome(RunDocument Run, IReadOnlyList<RunEvent> Events)
{
    /// <summary>
    /// The answer exactly as its client receives it, rendered once before the turn committed (and stored under its
    /// idempotency key, if it has one; <see cref="Answers.TurnAnswers"/>).
    /// </summary>
    public string? Answer { get; init; }

    public bool IsWaitingForInput => Run.Status == Runs.RunStatus.WaitingForUserInput;

    /// <summary>What the run waits for; a run parked by `pause` keeps its hint but is not waiting, so it shows none.</summary>
    public JsonObject? NextInputHint => TurnDocument.HintOf(Run);

    public bool IsCompleted => Runs.RunMachine.IsTerminal(Run.Status);

    /// <summary>How the turn's calls went: answered from a recording, made live, and where a replay's calls diverged.</summary>
    public Recordings.CallReport Calls { get; init; } = Recordings.CallReport.None;
}
