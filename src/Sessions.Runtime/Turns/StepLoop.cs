using System.Diagnostics;
using Sessions.Runtime.Telemetry;
using Microsoft.Extensions.Logging;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Steps a held run's nodes from where its opening left it (<see cref="TurnContinuation"/>) until it waits, pauses,
/// ends, fails, trips the loop guard or passes a limit: each node's handler returns what happened, and the loop records
/// it, fires the run's trigger for it, and follows its edge. Cancelling stops it at the next node boundary, or inside a
/// node that honours the token (model and HTTP calls).
/// </summary>
internal sealed class StepLoop(TurnState turn, ILogger logger)
{
    /// <summary>Awaited before each node that may reach outside the server (<see cref="INodeHandler.ReachesOutside"/>): where a turn takes its lease late.</summary>
    public Func<CancellationToken, Task>? BeforeReachingOutside { get; init; }

    public Task RunAsync(TurnContinuation from, CancellationToken cancellationToken) => from switch
    {
        TurnContinuation.StepFrom step => StepFromAsync(step.NodeId, cancellationToken),
        TurnContinuation.AfterReply reply => ContinueAfterAsync(reply.Node, reply.Reply, cancellationToken),
        _ => Task.CompletedTask,
    };

    private async Task StepFromAsync(string nodeId, CancellationToken cancellationToken)
    {
        var node = turn.Definition.Nodes[nodeId];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (turn.Guard.Visit(node.Id) is { } cycle)
            {
                TripLoopGuard(node, cycle);
                return;
            }

            turn.Events.Record(new NodeStarted(), node.Id);
            var result = await ExecuteWithSelfLoopAsync(node, cancellationToken);
            var next = Follow(node, result);
            if (next is null)
            {
                return;
            }

            if (turn.Limits.Exceeded(turn.Events.Events.Count, turn.Variables) is { } exceeded)
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

        var clock = turn.Clock;
        var started = clock.GetUtcNow();
        for (var attempt = 1; ShouldRepeat(node, loop, result) && turn.Limits.MayRecordMore(turn.Events.Events.Count); attempt++)
        {
            var exhausted = loop.MaxRetries is { } max && attempt > max ? "max_retries"
                : loop.Expiry is { } expiry && clock.GetUtcNow() + loop.Between - started >= expiry ? "expired"
                : null;
            if (exhausted is not null)
            {
                turn.Events.Record(new SelfLoopExhausted(attempt, exhausted), node.Id);
                break;
            }

            turn.Events.Record(
                new SelfLoopRepeated
                {
                    Attempt = attempt + 1,
                    Reason = result.Outcome == NodeOutcome.Fail ? SelfLoopRepeated.BecauseFailed : SelfLoopRepeated.BecauseWhile,
                    Error = result.Error,
                },
                node.Id);
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
        var repeat = loop.While.Evaluate(turn.Variables.Values, timeouts);
        foreach (var timeout in timeouts)
        {
            turn.Events.Record(timeout.ToEvent(), node.Id);
        }

        return repeat;
    }

    private void ApplyEffects(CompiledNode node, NodeResult result)
    {
        foreach (var (name, value) in result.Assignments)
        {
            turn.Variables.Set(name, value?.DeepClone());
        }

        foreach (var nodeEvent in result.Events)
        {
            turn.Events.Record(nodeEvent, node.Id);
        }
    }

    /// <summary>Goes where a node's result leads; returns the node to run next, or null when the turn ends here.</summary>
    private CompiledNode? Follow(CompiledNode node, NodeResult result)
    {
        switch (result.Outcome)
        {
            case NodeOutcome.Continue:
                turn.Events.Record(new NodeEnded(), node.Id);
                turn.RecordEdge(node.Id, result.NextNodeId!, result.MatchedCase);
                return turn.Definition.Nodes[result.NextNodeId!];

            case NodeOutcome.AwaitInput:
                turn.WaitingNodeId = node.Id;
                turn.WaitingHint = result.Hint!.ToJson();
                turn.Cursor = null;
                turn.Events.Record(new InputAwaited(result.Hint.Prompt, result.Hint.Input.Json.DeepClone().AsObject()), node.Id);
                turn.Timer = Dated(RunTimerKind.WaitTimeout, node, result.Timer);
                turn.Fire(RunTrigger.WaitForInput);
                break;

            case NodeOutcome.Pause:
                turn.Events.Record(new Paused(Paused.ByNode), node.Id);
                turn.Events.Record(new NodeEnded(), node.Id);
                turn.RecordEdge(node.Id, result.NextNodeId!, null);
                turn.Cursor = result.NextNodeId;
                turn.Timer = Dated(RunTimerKind.Resume, node, result.Timer);
                turn.Fire(RunTrigger.Pause);
                break;

            case NodeOutcome.End:
                turn.Events.Record(new NodeEnded(), node.Id);
                turn.Output = result.Output?.DeepClone();
                turn.Cursor = null;
                turn.Fire(RunTrigger.Complete);
                turn.Finish(TerminationSource.Workflow);
                break;

            case NodeOutcome.Fail:
                turn.Events.Record(new ErrorRaised(result.Error), node.Id);
                turn.Events.Record(new NodeEnded(), node.Id);
                turn.Error = result.Error;
                turn.Cursor = node.Id;
                turn.Fire(RunTrigger.Fail);
                turn.Finish(TerminationSource.Workflow);
                break;

            default:
                throw new InvalidOperationException($"Node '{node.Id}' returned {result.Outcome} from ExecuteAsync.");
        }

        return null;
    }

    private RunTimer? Dated(RunTimerKind kind, CompiledNode node, NodeTimer? declared) =>
        declared is null ? null : new RunTimer(turn.Clock.GetUtcNow() + declared.After, kind, node.Id, declared.ContinueAt, SessionsTelemetry.CurrentTraceParent());

    private async ValueTask<NodeResult> ExecuteNodeAsync(CompiledNode node, CancellationToken cancellationToken)
    {
        var retrying = node.Id == turn.RetryingNodeId;
        turn.RetryingNodeId = null;
        if (BeforeReachingOutside is { } beforeReachingOutside && node.Handler.ReachesOutside(node.Config))
        {
            // Outside the try below: a run that moved on refuses the turn, it does not fail the node.
            await beforeReachingOutside(cancellationToken);
        }

        using var span = SessionsTelemetry.Source.HasListeners()
            ? SessionsTelemetry.Source.StartActivity(ActivityKind.Internal, tags: [new(SessionsTelemetry.NodeId, node.Id), new(SessionsTelemetry.NodeType, node.Type)], name: SessionsTelemetry.NodeSpan)
            : null;
        try
        {
            var result = await node.Handler.ExecuteAsync(turn.Context(node, retrying), cancellationToken);
            if (result.Outcome == NodeOutcome.Fail)
            {
                span?.SetStatus(ActivityStatusCode.Error, "the node failed the run");
            }

            return result;
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or Recordings.ReplayStoppedException))
        {
            // A node that throws fails the run with a message the author can act on, instead of failing the request.
            // One line for operators; the stack trace is for whoever debugs the node.
            logger.LogWarning("Node {NodeId} ({NodeType}) of run {RunId} failed: {Error}", node.Id, node.Type, turn.Run.Id, ex.Message);
            logger.LogDebug(ex, "Node {NodeId} ({NodeType}) of run {RunId} threw", node.Id, node.Type, turn.Run.Id);
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return NodeResult.Fail($"Node '{node.Id}' ({node.Type}) failed: {ex.Message}");
        }
    }

    private void TripLoopGuard(CompiledNode node, IReadOnlyList<string> cycle)
    {
        turn.Error = turn.Guard.Describe(cycle);
        turn.Cursor = node.Id;
        turn.Events.Record(new LoopRiskAborted([.. cycle], turn.Error), node.Id);
        turn.Status.LoopGuardTripped = true;
        turn.Fire(RunTrigger.LoopRisk);
        turn.Finish(TerminationSource.LoopGuard);
    }

    private void FailOverLimit(CompiledNode next, string message)
    {
        turn.Error = message;
        turn.Cursor = next.Id;
        turn.Events.Record(new ErrorRaised(message), next.Id);
        turn.Fire(RunTrigger.Fail);
        turn.Finish(TerminationSource.Limits);
    }
}
