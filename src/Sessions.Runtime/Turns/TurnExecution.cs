using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The in-memory state of one turn: it steps the run's nodes from where the run stands and records what happened.
/// Every status change is a trigger fired at <see cref="RunMachine"/>; the limits are <see cref="TurnLimits"/>'s, the loop
/// guard <see cref="LoopGuard"/>'s, and what the run remembers of the conversation <see cref="ConversationMemory"/>'s.
/// Nothing here touches the store, so throwing at any point leaves the stored run exactly as it was.
/// </summary>
internal sealed class TurnExecution
{
    /// <summary>The variable that always holds the user's latest message, for templates such as `{{last_user_message}}`.</summary>
    public const string LastUserMessageVariable = "last_user_message";

    private readonly RunDocument run;
    private readonly WorkflowDefinition definition;
    private readonly TurnRequest request;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly EventRecorder events;
    private readonly LoopGuard guard;
    private readonly RunVariables variables;
    private readonly TurnObserver? observer;
    private readonly TurnLimits limits;
    private readonly ConversationMemory memory;

    private readonly RunState state;
    private string? cursor;
    private string? waitingNodeId;
    private JsonObject? waitingHint;
    private string? error;
    private JsonNode? output;
    private TerminationSource? terminationSource;

    // Every turn clears the run's timer; only a wait this turn ends at with a timer of its own sets one again.
    private RunTimer? timer;

    // What the request set going, run once the run is held: nothing for a command that only changes the status.
    private Func<CancellationToken, Task> rest = _ => Task.CompletedTask;
    private bool held;

    // The file a wait for a file took as its reply, if the turn sent one.
    private UploadedFile? replyFile;

    // Set by the `retry` command: the node it runs again, which is told so the first time it runs in this turn.
    private string? retryingNodeId;

    public TurnExecution(RunDocument run, WorkflowDefinition definition, TurnRequest request, TurnOptions limits, TimeProvider clock, ILogger logger, TurnObserver? observer)
    {
        this.observer = observer;
        this.limits = new TurnLimits(limits);
        memory = new ConversationMemory(run);
        this.run = run;
        this.definition = definition;
        this.request = request;
        this.clock = clock;
        this.logger = logger;
        events = new EventRecorder(run.Id, run.TurnNumber + 1, run.LastSeq, clock, OnRecorded);
        guard = new LoopGuard(definition.Limits);
        variables = new RunVariables(run.Status == RunStatus.NotStarted ? definition.NewVariables() : (JsonObject)run.Variables.DeepClone());
        state = new RunState(run.Status);
        cursor = run.CursorNodeId;
        waitingNodeId = run.WaitingNodeId;
        waitingHint = run.WaitingHint;
        error = run.Error;
        output = run.Output;
        terminationSource = run.TerminationSource;
    }

    /// <summary>
    /// Applies the request to the run in memory, or refuses it (a <see cref="DomainException"/>) if the run as read
    /// cannot take it: a finished run, a command its status does not permit, a reply that is missing or does not match.
    /// Needs nothing but the run, so the engine calls it before holding the run, and a refusal writes nothing at all.
    /// </summary>
    public void Begin()
    {
        if (request.Command == TurnCommand.Retry)
        {
            Retry();
            return;
        }

        RunMachine.EnsureNotTerminal(state.Status);
        if (request.FiredTimer is { } fired)
        {
            FireTimer(fired);
            return;
        }

        switch (request.Command)
        {
            case TurnCommand.Stop:
                Fire(RunTrigger.Cancel);
                events.Record(RunEventType.Cancelled, waitingNodeId ?? cursor, new JsonObject { ["reason"] = request.CancelReason ?? "stop command" });
                Finish(request.CancelSource);
                return;

            case TurnCommand.Pause:
                Fire(RunTrigger.Park);
                events.Record(RunEventType.PauseEvent, waitingNodeId, new JsonObject { ["reason"] = "pause command" });
                return;

            case TurnCommand.Resume when state.Status is not (RunStatus.Paused or RunStatus.WaitingForUserInput):
                // Refused by the machine, which says what the run's status permits instead.
                Fire(RunTrigger.Resume);
                break;
        }

        limits.CheckReply(request.UserMessage);
        MergeRequestVariables();
        limits.CheckRequestVariables(variables);

        if (state.Status == RunStatus.NotStarted)
        {
            Fire(RunTrigger.Start);
            events.Record(RunEventType.StartWorkflow, fields: new JsonObject { ["workflow_id"] = run.WorkflowId, ["version_number"] = run.VersionNumber });
            foreach (var warning in definition.Warnings)
            {
                events.Record(RunEventType.WorkflowWarning, fields: new JsonObject { ["code"] = warning.Code, ["path"] = warning.Path, ["message"] = warning.Message });
            }

            RecordUserMessage(null);
            Fire(RunTrigger.Continue);
            rest = cancellationToken => StepFromAsync(definition.Start, cancellationToken);
        }
        else if (waitingNodeId is not null)
        {
            rest = AnswerWaitingNode(definition.Nodes[waitingNodeId]);
        }
        else
        {
            Fire(RunTrigger.Resume);
            RecordUserMessage(null);
            var from = cursor!;
            rest = cancellationToken => StepFromAsync(from, cancellationToken);
        }
    }

    /// <summary>
    /// The `retry` command: a failed run runs again from the node it failed at, with its variables as the failed turn
    /// left them, so that what ran before the failure does not run twice. Its error is cleared; a failure again fails it
    /// again. The engine has already moved the run to another version if the request asked for one.
    /// </summary>
    private void Retry()
    {
        // The machine permits it only from `failed`, at a node: a run finished another way takes no more turns, and an
        // unfinished one is not retried.
        state.FailedAt = cursor;
        var fields = new JsonObject { ["failed_turn"] = run.TurnNumber, ["error"] = error, ["version_number"] = run.VersionNumber };
        if (request.RetriedFromVersion is { } previous && previous != run.VersionNumber)
        {
            fields["from_version_number"] = previous;
        }

        Fire(RunTrigger.Retry);
        events.Record(RunEventType.RunRetried, cursor, fields);
        error = null;
        output = null;
        terminationSource = null;
        var from = state.FailedAt!;
        retryingNodeId = from;
        rest = cancellationToken => StepFromAsync(from, cancellationToken);
    }

    /// <summary>
    /// A timer's own turn. It applies only to the run exactly as the timer left it: a turn that came first (a reply, a
    /// command, the same timer fired by another server) cleared or replaced the timer, and this turn is refused whole.
    /// </summary>
    private void FireTimer(RunTimer fired)
    {
        if (run.Timer != fired)
        {
            throw TurnHold.Conflict();
        }

        var deadline = new JsonObject { ["deadline"] = fired.DueAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) };
        if (fired.Kind == RunTimerKind.WaitTimeout)
        {
            events.Record(RunEventType.WaitTimeout, fired.NodeId, deadline);
            Fire(RunTrigger.TimeOut);
            waitingNodeId = null;
            waitingHint = null;
            RecordEdge(fired.NodeId, fired.ContinueAt, null);
        }
        else
        {
            events.Record(RunEventType.TimerFired, fired.NodeId, deadline);
            Fire(RunTrigger.Resume);
        }

        rest = cancellationToken => StepFromAsync(fired.ContinueAt, cancellationToken);
    }

    /// <summary>Where the turn reports how far it has got, once it holds the run (for readers of a running run).</summary>
    public TurnProgress? Progress { get; set; }

    /// <summary>Awaited before each node that may reach outside the server (<see cref="INodeHandler.ReachesOutside"/>): where a turn takes its lease late.</summary>
    public Func<CancellationToken, Task>? BeforeReachingOutside { get; set; }

    /// <summary>
    /// Steps the nodes that the request set going, once the run is held; <see cref="Begin"/> comes first. Cancelling
    /// stops it at the next node boundary, or inside a node that honours the token (model and HTTP calls).
    /// </summary>
    public Task ContinueAsync(CancellationToken cancellationToken)
    {
        // The observer (a stream) sees events only from here: a turn that then could not hold its run, and starts again
        // from the stored run, must not have shown it events twice.
        held = true;
        foreach (var recorded in events.Events)
        {
            Progress?.Observe(recorded);
            observer?.OnEvent?.Invoke(recorded);
        }

        return rest(cancellationToken);
    }

    public (RunDocument Run, IReadOnlyList<RunEvent> Events) Result()
    {
        var now = clock.GetUtcNow();
        var updated = run with
        {
            Status = state.Status,
            Lease = null,
            TurnNumber = run.TurnNumber + 1,
            LastSeq = events.LastSeq,
            Variables = variables.Values,
            CursorNodeId = cursor,
            WaitingNodeId = waitingNodeId,
            WaitingHint = waitingHint,
            Error = error,
            Output = output,
            TerminationSource = terminationSource,
            Timer = timer,
            Conversation = memory.Messages,
            LlmTokenUsage = memory.Tokens,
            LlmLatencyStats = memory.Latency,
            UpdatedAt = now,
            CompletedAt = RunMachine.IsTerminal(state.Status) ? now : null,
            ExpiresAt = RunMachine.IsTerminal(state.Status) && definition.Retention is { } kept ? now + kept : null,
        };
        return (updated, events.Events);
    }

    /// <summary>Takes the reply to the node the run waits at, or refuses it; returns what follows once the run is held.</summary>
    private Func<CancellationToken, Task> AnswerWaitingNode(CompiledNode node)
    {
        // A wait for a file takes the turn's one file as its reply; the handler checks it like any reply.
        if (WaitsForFile && request.Files.Count > 0)
        {
            if (request.Files.Count > 1)
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidReply, "Reply does not match the expected input", "Expected one file; this turn sent several.")
                    .With("next_input_hint", waitingHint?.DeepClone());
            }

            replyFile = request.Files[0];
        }

        var reply = replyFile is { } sent ? Values.JsonText.Serialize(sent.File.ToJson()) : request.UserMessage;
        if (reply is null)
        {
            if (state.Status == RunStatus.WaitingForUserInput)
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.ReplyRequired, "Reply required", "The run is waiting for input; send it as run_input.user_message.")
                    .With("next_input_hint", waitingHint?.DeepClone());
            }

            // A run parked by the `pause` command and resumed without a reply asks its question again.
            Fire(RunTrigger.Resume);
            return cancellationToken => StepFromAsync(node.Id, cancellationToken);
        }

        var result = node.Handler.AcceptReply(Context(node), reply);
        if (result.Outcome == NodeOutcome.RejectReply)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidReply, "Reply does not match the expected input", $"Expected {result.Expected}.")
                .With("expected", result.Expected)
                .With("next_input_hint", waitingHint?.DeepClone());
        }

        Fire(state.Status == RunStatus.WaitingForUserInput ? RunTrigger.Reply : RunTrigger.Resume);
        RecordUserMessage(node.Id);
        waitingNodeId = null;
        waitingHint = null;
        return cancellationToken => ContinueAfterAsync(node, result, cancellationToken);
    }

    private async Task StepFromAsync(string nodeId, CancellationToken cancellationToken)
    {
        var node = definition.Nodes[nodeId];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (guard.Visit(node.Id) is { } cycle)
            {
                TripLoopGuard(node, cycle);
                return;
            }

            events.Record(RunEventType.StartNodeRun, node.Id);
            var result = await ExecuteWithSelfLoopAsync(node, cancellationToken);
            var next = Follow(node, result);
            if (next is null)
            {
                return;
            }

            if (limits.Exceeded(events.Events.Count, variables) is { } exceeded)
            {
                FailOverLimit(next, exceeded);
                return;
            }

            node = next;
        }
    }

    private async Task ContinueAfterAsync(CompiledNode node, NodeResult result, CancellationToken cancellationToken)
    {
        ApplyEffects(node, result);
        if (Follow(node, result) is { } next)
        {
            await StepFromAsync(next.Id, cancellationToken);
        }
    }

    /// <summary>
    /// Runs a node, and again while its self_loop says so. Each attempt's assignments and events are applied before the
    /// next, so the `while` condition sees them. Repeats are not loop-guard visits: their own bound already ends them.
    /// </summary>
    private async ValueTask<NodeResult> ExecuteWithSelfLoopAsync(CompiledNode node, CancellationToken cancellationToken)
    {
        var result = await ExecuteNodeAsync(node, cancellationToken);
        ApplyEffects(node, result);
        if (node.SelfLoop is not { } loop)
        {
            return result;
        }

        var started = clock.GetUtcNow();
        for (var attempt = 1; ShouldRepeat(node, loop, result) && limits.MayRecordMore(events.Events.Count); attempt++)
        {
            var exhausted = loop.MaxRetries is { } max && attempt > max ? "max_retries"
                : loop.Expiry is { } expiry && clock.GetUtcNow() + loop.Between - started >= expiry ? "expired"
                : null;
            if (exhausted is not null)
            {
                events.Record(RunEventType.SelfLoopExhausted, node.Id, new JsonObject { ["attempts"] = attempt, ["reason"] = exhausted });
                break;
            }

            var edge = new JsonObject { ["attempt"] = attempt + 1, ["reason"] = result.Outcome == NodeOutcome.Fail ? "failed" : "while" };
            if (result.Error is not null)
            {
                edge["error"] = result.Error;
            }

            events.Record(RunEventType.SelfLoopEdge, node.Id, edge);
            if (loop.Between > TimeSpan.Zero)
            {
                await Task.Delay(loop.Between, clock, cancellationToken);
            }

            result = await ExecuteNodeAsync(node, cancellationToken);
            ApplyEffects(node, result);
        }

        return result;
    }

    private bool ShouldRepeat(CompiledNode node, SelfLoop loop, NodeResult result)
    {
        if (result.Outcome == NodeOutcome.Fail)
        {
            return true;
        }

        if (result.Outcome != NodeOutcome.Continue || loop.While is null)
        {
            return false;
        }

        // A pattern that runs out of time is no match, so the loop ends; the warning says why it ended there.
        var timeouts = new List<ConditionTimeout>();
        var repeat = loop.While.Evaluate(variables.Values, timeouts);
        foreach (var timeout in timeouts)
        {
            events.Record(RunEventType.ConditionTimeout, node.Id, timeout.ToEventFields());
        }

        return repeat;
    }

    private void ApplyEffects(CompiledNode node, NodeResult result)
    {
        foreach (var (name, value) in result.Assignments)
        {
            variables.Set(name, value?.DeepClone());
        }

        foreach (var nodeEvent in result.Events)
        {
            events.Record(nodeEvent.Type, node.Id, nodeEvent.Fields);
        }
    }

    /// <summary>Goes where a node's result leads; returns the node to run next, or null when the turn ends here.</summary>
    private CompiledNode? Follow(CompiledNode node, NodeResult result)
    {
        switch (result.Outcome)
        {
            case NodeOutcome.Continue:
                events.Record(RunEventType.EndNodeRun, node.Id);
                RecordEdge(node.Id, result.NextNodeId!, result.MatchedCase);
                return definition.Nodes[result.NextNodeId!];

            case NodeOutcome.AwaitInput:
                waitingNodeId = node.Id;
                waitingHint = result.Hint!.ToJson();
                cursor = null;
                events.Record(RunEventType.BusyWaitForUserMessage, node.Id, new JsonObject
                {
                    ["prompt"] = result.Hint.Prompt,
                    ["input"] = result.Hint.Input.Json.DeepClone(),
                });
                timer = Dated(RunTimerKind.WaitTimeout, node, result.Timer);
                Fire(RunTrigger.WaitForInput);
                break;

            case NodeOutcome.Pause:
                events.Record(RunEventType.PauseEvent, node.Id, new JsonObject { ["reason"] = "pause node" });
                events.Record(RunEventType.EndNodeRun, node.Id);
                RecordEdge(node.Id, result.NextNodeId!, null);
                cursor = result.NextNodeId;
                timer = Dated(RunTimerKind.Resume, node, result.Timer);
                Fire(RunTrigger.Pause);
                break;

            case NodeOutcome.End:
                events.Record(RunEventType.EndNodeRun, node.Id);
                output = result.Output?.DeepClone();
                cursor = null;
                Fire(RunTrigger.Complete);
                Finish(TerminationSource.Workflow);
                break;

            case NodeOutcome.Fail:
                events.Record(RunEventType.Error, node.Id, new JsonObject { ["error"] = result.Error });
                events.Record(RunEventType.EndNodeRun, node.Id);
                error = result.Error;
                cursor = node.Id;
                Fire(RunTrigger.Fail);
                Finish(TerminationSource.Workflow);
                break;

            default:
                throw new InvalidOperationException($"Node '{node.Id}' returned {result.Outcome} from ExecuteAsync.");
        }

        return null;
    }

    private RunTimer? Dated(RunTimerKind kind, CompiledNode node, NodeTimer? declared) =>
        declared is null ? null : new RunTimer(clock.GetUtcNow() + declared.After, kind, node.Id, declared.ContinueAt);

    private async ValueTask<NodeResult> ExecuteNodeAsync(CompiledNode node, CancellationToken cancellationToken)
    {
        var retrying = node.Id == retryingNodeId;
        retryingNodeId = null;
        if (BeforeReachingOutside is { } beforeReachingOutside && node.Handler.ReachesOutside(node.Config))
        {
            // Outside the try below: a run that moved on refuses the turn, it does not fail the node.
            await beforeReachingOutside(cancellationToken);
        }

        try
        {
            return await node.Handler.ExecuteAsync(Context(node, retrying), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A node that throws fails the run with a message the author can act on, instead of failing the request.
            // One line for operators; the stack trace is for whoever debugs the node.
            logger.LogWarning("Node {NodeId} ({NodeType}) of run {RunId} failed: {Error}", node.Id, node.Type, run.Id, ex.Message);
            logger.LogDebug(ex, "Node {NodeId} ({NodeType}) of run {RunId} threw", node.Id, node.Type, run.Id);
            return NodeResult.Fail($"Node '{node.Id}' ({node.Type}) failed: {ex.Message}");
        }
    }

    private void TripLoopGuard(CompiledNode node, IReadOnlyList<string> cycle)
    {
        error = guard.Describe(cycle);
        cursor = node.Id;
        events.Record(RunEventType.AbortedLoopingRisk, node.Id, new JsonObject
        {
            ["cycle"] = new JsonArray(cycle.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray()),
            ["error"] = error,
        });
        state.LoopGuardTripped = true;
        Fire(RunTrigger.LoopRisk);
        Finish(TerminationSource.LoopGuard);
    }

    private void FailOverLimit(CompiledNode next, string message)
    {
        error = message;
        cursor = next.Id;
        events.Record(RunEventType.Error, next.Id, new JsonObject { ["error"] = message });
        Fire(RunTrigger.Fail);
        Finish(TerminationSource.Limits);
    }

    private void RecordEdge(string from, string to, JsonObject? matchedCase)
    {
        if (matchedCase is null)
        {
            events.Record(RunEventType.DirectEdge, fields: new JsonObject { ["from"] = from, ["to"] = to });
        }
        else
        {
            events.Record(RunEventType.ConditionalEdge, fields: new JsonObject { ["from"] = from, ["to"] = to, ["case"] = matchedCase.DeepClone() });
        }
    }

    private void RecordUserMessage(string? nodeId)
    {
        if (request.UserMessage is not null)
        {
            variables.Set(LastUserMessageVariable, request.UserMessage);
        }

        if (request.UserMessage is null && replyFile is null)
        {
            return;
        }

        var message = new JsonObject { ["text"] = request.UserMessage ?? replyFile!.File.Name };
        if (replyFile is not null)
        {
            message["file"] = replyFile.File.ToJson();
        }

        events.Record(RunEventType.UserMessages, nodeId, message);
    }

    /// <summary>The request's variables, and its files (each under its part's name) but the one a file wait takes as its reply.</summary>
    private void MergeRequestVariables()
    {
        foreach (var source in new[] { request.RuntimeVariables, request.DynamicVariables })
        {
            foreach (var (name, value) in source ?? [])
            {
                variables.Set(name, value?.DeepClone());
            }
        }

        foreach (var file in request.Files.Where(_ => !WaitsForFile))
        {
            variables.Set(file.PartName, file.File.ToJson());
        }
    }

    private void Finish(TerminationSource source)
    {
        terminationSource = source;
        waitingNodeId = null;
        waitingHint = null;
        var fields = new JsonObject { ["status"] = state.Status.ToWire() };
        if (output is not null)
        {
            fields["output"] = output.DeepClone();
        }

        if (error is not null)
        {
            fields["error"] = error;
        }

        events.Record(RunEventType.EndWorkflow, fields: fields);
    }

    /// <summary>Whether the run waits at an `ask` for a file (its hint says so).</summary>
    private bool WaitsForFile =>
        waitingNodeId is not null && waitingHint?["input"]?["kind"] is JsonValue kind && kind.GetValue<string>() == Inputs.InputSpec.FileKind;

    private void Fire(RunTrigger trigger) => RunMachine.Fire(state, trigger);

    /// <summary>Keeps what the run remembers across turns in step with its events, then shows the event to the observer.</summary>
    private void OnRecorded(RunEvent recorded)
    {
        memory.Observe(recorded);
        if (held)
        {
            Progress?.Observe(recorded);
            observer?.OnEvent?.Invoke(recorded);
        }
    }

    private NodeContext Context(CompiledNode node, bool retrying = false) =>
        new(node, variables.Values, run.TurnNumber + 1, clock.GetUtcNow(), run.TenantId, memory.Messages,
            observer?.OnDelta is { } onDelta ? text => onDelta(node.Id, text) : null,
            retrying,
            Progress is { } progress ? progress.ObserveSteps : null);
}
