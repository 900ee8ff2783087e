using Sessions.Runtime.Errors;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns;

/// <summary>Where a turn's stepping starts once the run is held, as its opening decided.</summary>
internal abstract record TurnContinuation
{
    /// <summary>Nothing to step: a command that only changes the run's status (stop, pause).</summary>
    public sealed record Nothing : TurnContinuation;

    /// <summary>Step the run's nodes from this one.</summary>
    public sealed record StepFrom(string NodeId) : TurnContinuation;

    /// <summary>The node the run waited at took the reply: apply what it returned, then follow it.</summary>
    public sealed record AfterReply(CompiledNode Node, NodeResult Reply) : TurnContinuation;
}

/// <summary>
/// The opening of a turn: what its request does to the run as read (a command, a timer firing, a retry, the first turn,
/// a reply to the node it waits at), or why the run refuses it: a finished run, a command its status does not permit, a
/// reply that is missing or does not fit. It needs nothing but the run and its definition, so it is decided before the
/// run is held, and a refusal writes nothing at all.
/// </summary>
internal static class TurnOpening
{
    public static TurnContinuation Open(TurnState turn)
    {
        var request = turn.Request;
        if (request.Command == TurnCommand.Retry)
        {
            return Retry(turn);
        }

        RunMachine.EnsureNotTerminal(turn.Status.Status);
        if (request.FiredTimer is { } fired)
        {
            return FireTimer(turn, fired);
        }

        switch (request.Command)
        {
            case TurnCommand.Stop:
                turn.Fire(RunTrigger.Cancel);
                turn.Events.Record(new Cancelled(request.CancelReason ?? "stop command"), turn.WaitingNodeId ?? turn.Cursor);
                turn.Finish(request.CancelSource);
                return new TurnContinuation.Nothing();

            case TurnCommand.Pause:
                turn.Fire(RunTrigger.Park);
                turn.Events.Record(new Paused(Paused.ByCommand), turn.WaitingNodeId);
                return new TurnContinuation.Nothing();

            case TurnCommand.Resume when turn.Status.Status is not (RunStatus.Paused or RunStatus.WaitingForUserInput):
                // Refused by the machine, which says what the run's status permits instead.
                turn.Fire(RunTrigger.Resume);
                break;
        }

        turn.Limits.CheckReply(request.UserMessage);
        MergeRequestVariables(turn);
        turn.Limits.CheckRequestVariables(turn.Variables);

        if (turn.Status.Status == RunStatus.NotStarted)
        {
            turn.Fire(RunTrigger.Start);
            turn.Events.Record(new WorkflowStarted(turn.Run.WorkflowId, turn.Run.VersionNumber));
            foreach (var warning in turn.Definition.Warnings)
            {
                turn.Events.Record(new WorkflowWarned(warning.Code, warning.Path, warning.Message));
            }

            turn.RecordUserMessage(null);
            turn.Fire(RunTrigger.Continue);
            return new TurnContinuation.StepFrom(turn.Definition.Start);
        }

        if (turn.WaitingNodeId is not null)
        {
            return AnswerWaitingNode(turn, turn.Definition.Nodes[turn.WaitingNodeId]);
        }

        turn.Fire(RunTrigger.Resume);
        turn.RecordUserMessage(null);
        return new TurnContinuation.StepFrom(turn.Cursor!);
    }

    /// <summary>
    /// The `retry` command: a failed run runs again from the node it failed at, with its variables as the failed turn
    /// left them, so that what ran before the failure does not run twice. Its error is cleared; a failure again fails it
    /// again. The pipeline has already moved the run to another version if the request asked for one.
    /// </summary>
    private static TurnContinuation Retry(TurnState turn)
    {
        // The machine permits it only from `failed`, at a node: a run finished another way takes no more turns, and an
        // unfinished one is not retried.
        turn.Status.FailedAt = turn.Cursor;
        var movedFrom = turn.Request.RetriedFromVersion is { } previous && previous != turn.Run.VersionNumber ? previous : (int?)null;
        turn.Fire(RunTrigger.Retry);
        turn.Events.Record(new RunRetried(turn.Run.TurnNumber, turn.Error, turn.Run.VersionNumber, movedFrom), turn.Cursor);
        turn.Error = null;
        turn.Output = null;
        turn.TerminationSource = null;
        turn.RetryingNodeId = turn.Status.FailedAt;
        return new TurnContinuation.StepFrom(turn.Status.FailedAt!);
    }

    /// <summary>
    /// A timer's own turn. It applies only to the run exactly as the timer left it: a turn that came first (a reply, a
    /// command, the same timer fired by another server) cleared or replaced the timer, and this turn is refused whole.
    /// </summary>
    private static TurnContinuation FireTimer(TurnState turn, RunTimer fired)
    {
        if (turn.Run.Timer != fired)
        {
            throw TurnRefusals.Conflict();
        }

        if (fired.Kind == RunTimerKind.WaitTimeout)
        {
            turn.Events.Record(new WaitTimedOut(fired.DueAt), fired.NodeId);
            turn.Fire(RunTrigger.TimeOut);
            turn.WaitingNodeId = null;
            turn.WaitingHint = null;
            turn.RecordEdge(fired.NodeId, fired.ContinueAt, null);
        }
        else
        {
            turn.Events.Record(new TimerFired(fired.DueAt), fired.NodeId);
            turn.Fire(RunTrigger.Resume);
        }

        return new TurnContinuation.StepFrom(fired.ContinueAt);
    }

    /// <summary>Takes the reply to the node the run waits at, or refuses it.</summary>
    private static TurnContinuation AnswerWaitingNode(TurnState turn, CompiledNode node)
    {
        var request = turn.Request;

        // A wait for a file takes the turn's one file as its reply; the handler checks it like any reply.
        if (turn.WaitsForFile && request.Files.Count > 0)
        {
            if (request.Files.Count > 1)
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidReply, "Reply does not match the expected input", "Expected one file; this turn sent several.")
                    .With("next_input_hint", turn.WaitingHint?.DeepClone());
            }

            turn.ReplyFile = request.Files[0];
        }

        var reply = turn.ReplyFile is { } sent ? Values.JsonText.Serialize(sent.File.ToJson()) : request.UserMessage;
        if (reply is null)
        {
            if (turn.Status.Status == RunStatus.WaitingForUserInput)
            {
                throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.ReplyRequired, "Reply required", "The run is waiting for input; send it as run_input.user_message.")
                    .With("next_input_hint", turn.WaitingHint?.DeepClone());
            }

            // A run parked by the `pause` command and resumed without a reply asks its question again.
            turn.Fire(RunTrigger.Resume);
            return new TurnContinuation.StepFrom(node.Id);
        }

        var result = node.Handler.AcceptReply(turn.Context(node), reply);
        if (result.Outcome == NodeOutcome.RejectReply)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidReply, "Reply does not match the expected input", $"The reply \"{ProblemText.Shorten(reply)}\" does not fit: expected {result.Expected}.")
                .With("expected", result.Expected)
                .With("next_input_hint", turn.WaitingHint?.DeepClone());
        }

        turn.Fire(turn.Status.Status == RunStatus.WaitingForUserInput ? RunTrigger.Reply : RunTrigger.Resume);
        turn.RecordUserMessage(node.Id);
        turn.WaitingNodeId = null;
        turn.WaitingHint = null;
        return new TurnContinuation.AfterReply(node, result);
    }

    /// <summary>The request's variables, and its files (each under its part's name) but the one a file wait takes as its reply.</summary>
    private static void MergeRequestVariables(TurnState turn)
    {
        foreach (var source in new[] { turn.Request.RuntimeVariables, turn.Request.DynamicVariables })
        {
            foreach (var (name, value) in source ?? [])
            {
                turn.Variables.Set(name, value?.DeepClone());
            }
        }

        foreach (var file in turn.Request.Files.Where(_ => !turn.WaitsForFile))
        {
            turn.Variables.Set(file.PartName, file.File.ToJson());
        }
    }
}
