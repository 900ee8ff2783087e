using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The run as one turn changes it in memory: its status (changed only by triggers fired at <see cref="RunMachine"/>),
/// where it stands, its variables, what it remembers of the conversation, and the events recorded so far. Nothing here
/// touches the store, so throwing at any point leaves the stored run exactly as it was.
/// </summary>
internal sealed class TurnState
{
    /// <summary>The variable that always holds the user's latest message, for templates such as `{{last_user_message}}`.</summary>
    public const string LastUserMessageVariable = RuntimeVariables.LastUserMessage;

    private readonly TurnObserver? observer;
    private bool held;

    public TurnState(RunDocument run, WorkflowDefinition definition, TurnRequest request, TurnOptions options, TimeProvider clock, TurnObserver? observer, Recordings.CallLedger calls)
    {
        Calls = calls;
        this.observer = observer;
        Run = run;
        Definition = definition;
        Request = request;
        Clock = clock;
        Limits = new TurnLimits(options);
        Memory = new ConversationMemory(run);
        Events = new EventRecorder(run.Id, run.TurnNumber + 1, run.LastSeq, clock, OnRecorded);
        Guard = new LoopGuard(definition.Limits);
        Variables = new RunVariables(run.Status == RunStatus.NotStarted ? definition.NewVariables() : (JsonObject)run.Variables.DeepClone());
        Status = new RunState(run.Status);
        Cursor = run.CursorNodeId;
        WaitingNodeId = run.WaitingNodeId;
        WaitingHint = run.WaitingHint;
        Error = run.Error;
        Output = run.Output;
        TerminationSource = run.TerminationSource;
    }

    /// <summary>The run as the turn found it.</summary>
    public RunDocument Run { get; }

    public WorkflowDefinition Definition { get; }

    public TurnRequest Request { get; }

    public TimeProvider Clock { get; }

    /// <summary>Where the turn's nodes make their calls outside the server, and what keeps them for the turn's record.</summary>
    public Recordings.CallLedger Calls { get; }

    public RunState Status { get; }

    public EventRecorder Events { get; }

    public LoopGuard Guard { get; }

    public RunVariables Variables { get; }

    public TurnLimits Limits { get; }

    public ConversationMemory Memory { get; }

    public string? Cursor { get; set; }

    public string? WaitingNodeId { get; set; }

    public JsonObject? WaitingHint { get; set; }

    public string? Error { get; set; }

    public JsonNode? Output { get; set; }

    public TerminationSource? TerminationSource { get; set; }

    /// <summary>Every turn clears the run's timer; only a wait this turn ends at with a timer of its own sets one again.</summary>
    public RunTimer? Timer { get; set; }

    /// <summary>The file a wait for a file took as its reply, if the turn sent one.</summary>
    public UploadedFile? ReplyFile { get; set; }

    /// <summary>Set by the `retry` command: the node it runs again, which is told so the first time it runs in this turn.</summary>
    public string? RetryingNodeId { get; set; }

    /// <summary>Where the turn reports how far it has got, once it holds the run (for readers of a running run).</summary>
    public TurnProgress? Progress { get; set; }

    /// <summary>Whether the run waits at an `ask` for a file (its hint says so).</summary>
    public bool WaitsForFile =>
        WaitingNodeId is not null && WaitingHint?["input"]?["kind"] is JsonValue kind && kind.GetValue<string>() == Inputs.InputSpec.FileKind;

    public void Fire(RunTrigger trigger) => RunMachine.Fire(Status, trigger);

    /// <summary>
    /// The turn holds its run now: the observer (a stream) sees the events recorded before, and every one after. A turn
    /// that could not hold its run, and starts again from the stored run, must not have shown events twice.
    /// </summary>
    public void Held()
    {
        held = true;
        foreach (var recorded in Events.Events)
        {
            Progress?.Observe(recorded);
            observer?.OnEvent?.Invoke(recorded);
        }
    }

    public void RecordEdge(string from, string to, JsonObject? matchedCase)
    {
        if (matchedCase is null)
        {
            Events.Record(new DirectEdgeTaken(from, to));
        }
        else
        {
            Events.Record(new ConditionalEdgeTaken(from, to, matchedCase.DeepClone().AsObject()));
        }
    }

    public void RecordUserMessage(string? nodeId)
    {
        if (Request.UserMessage is not null)
        {
            Variables.Set(LastUserMessageVariable, Request.UserMessage);
        }

        if (Request.UserMessage is null && ReplyFile is null)
        {
            return;
        }

        Events.Record(new UserMessage(Request.UserMessage ?? ReplyFile!.File.Name, ReplyFile?.File.ToJson()), nodeId);
    }

    /// <summary>The run has ended (its status fired already): it waits for nothing more, and says how it ended.</summary>
    public void Finish(TerminationSource source)
    {
        TerminationSource = source;
        WaitingNodeId = null;
        WaitingHint = null;
        Events.Record(new WorkflowEnded(Status.Status, Output?.DeepClone(), Error));
    }

    /// <summary>What a node's handler reads: the node, the variables, the conversation, and where to report.</summary>
    public NodeContext Context(CompiledNode node, bool retrying = false) =>
        new(node, Variables.Values, Run.TurnNumber + 1, Request.ReplayedCalls?.Clock ?? Clock.GetUtcNow(), Run.TenantId, Memory.Messages,
            observer?.OnDelta is { } onDelta ? text => onDelta(node.Id, text) : null,
            retrying,
            Progress is { } progress ? progress.ObserveSteps : null,
            calls: Calls);

    /// <summary>The run as the turn leaves it, and the turn's events, for its commit.</summary>
    public (RunDocument Run, IReadOnlyList<RunEvent> Events) After()
    {
        var now = Clock.GetUtcNow();
        var finished = RunMachine.IsTerminal(Status.Status);
        var updated = Run with
        {
            Status = Status.Status,
            Lease = null,
            TurnNumber = Run.TurnNumber + 1,
            LastSeq = Events.LastSeq,
            Variables = Variables.Values,
            CursorNodeId = Cursor,
            WaitingNodeId = WaitingNodeId,
            WaitingHint = WaitingHint,
            Error = Error,
            Output = Output,
            TerminationSource = TerminationSource,
            Timer = Timer,
            Conversation = Memory.Messages,
            LlmTokenUsage = Memory.Tokens,
            LlmLatencyStats = Memory.Latency,
            UpdatedAt = now,
            CompletedAt = finished ? now : null,
            ExpiresAt = finished && Definition.Retention is { } kept ? now + kept : null,
        };
        return (updated, Events.Events);
    }

    /// <summary>Keeps what the run remembers across turns in step with its events, then shows the event to the observer.</summary>
    private void OnRecorded(RunEvent recorded)
    {
        Memory.Observe(recorded);
        if (held)
        {
            Progress?.Observe(recorded);
            observer?.OnEvent?.Invoke(recorded);
        }
    }
}
