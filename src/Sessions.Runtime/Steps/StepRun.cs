using System.Text.Json.Nodes;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;

namespace Sessions.Runtime.Steps;

/// <summary>
/// Runs a <see cref="StepPlan"/> once: each step as soon as the steps it depends on have finished, at most
/// <see cref="StepPlan.MaxConcurrency"/> at a time; a failing step is tried again after its backoff, then once with its
/// fallback. A step that still fails leaves the steps downstream of it unrun, while the others run to their end, so
/// that a retry of the run has the least left to do. What it returns is what any node returns: the steps' outputs to
/// assign (under `steps.&lt;id&gt;`) and the events of every attempt, to continue, or to fail the run.
/// </summary>
public sealed class StepRun
{
    /// <summary>The variable under which every step's outputs are kept, by step id.</summary>
    public const string StepsVariable = "steps";

    private readonly StepPlan plan;
    private readonly NodeContext context;
    private readonly TimeProvider clock;
    private readonly Lock gate = new();
    private readonly Dictionary<string, JsonObject> finished = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> failed = new(StringComparer.Ordinal);
    private readonly HashSet<string> running = new(StringComparer.Ordinal);
    private readonly List<RunEventPayload> events = [];

    public StepRun(StepPlan plan, NodeContext context, TimeProvider clock)
    {
        this.plan = plan;
        this.context = context;
        this.clock = clock;

        // A retry keeps what the failed run's steps finished; any other entry into the node runs every step afresh.
        if (context.Retrying && context.Variables[StepsVariable] is JsonObject kept)
        {
            foreach (var step in plan.Steps.Where(s => kept[s.Id] is JsonObject))
            {
                finished[step.Id] = (JsonObject)kept[step.Id]!.DeepClone();
            }
        }
    }

    public async ValueTask<NodeResult> RunAsync(CancellationToken cancellationToken)
    {
        var kept = finished.Keys.ToList();
        if (kept.Count > 0)
        {
            events.Add(new StepsKept(kept));
        }

        var pending = plan.Steps.Where(s => !finished.ContainsKey(s.Id)).ToList();
        var inFlight = new List<Task>();
        Report();
        while (true)
        {
            foreach (var step in Startable(pending, plan.MaxConcurrency - inFlight.Count))
            {
                pending.Remove(step);
                lock (gate)
                {
                    running.Add(step.Id);
                }

                inFlight.Add(RunStepAsync(step, cancellationToken));
            }

            if (inFlight.Count == 0)
            {
                break;
            }

            Report();
            var done = await Task.WhenAny(inFlight);
            inFlight.Remove(done);
            await done;
            Report();
        }

        return Result(pending);
    }

    /// <summary>Steps whose dependencies have all finished, in declared order, as many as may start now.</summary>
    private List<PlannedStep> Startable(List<PlannedStep> pending, int room)
    {
        lock (gate)
        {
            return pending.Where(s => s.DependsOn.All(finished.ContainsKey)).Take(Math.Max(0, room)).ToList();
        }
    }

    private NodeResult Result(List<PlannedStep> unrun)
    {
        var steps = context.Variables[StepsVariable] is JsonObject before ? (JsonObject)before.DeepClone() : [];
        foreach (var step in plan.Steps)
        {
            steps.Remove(step.Id);
        }

        foreach (var step in plan.Steps.Where(s => finished.ContainsKey(s.Id)))
        {
            steps[step.Id] = finished[step.Id].DeepClone();
        }

        var assignments = new Dictionary<string, JsonNode?>(StringComparer.Ordinal) { [StepsVariable] = steps };
        if (failed.Count == 0)
        {
            return Emitted(NodeResult.Next(context.Node.Next!).Assign(assignments));
        }

        var first = plan.Steps.First(s => failed.ContainsKey(s.Id));
        var message = $"Step '{first.Id}' failed: {failed[first.Id]}";
        if (failed.Count > 1)
        {
            message += $" (and {failed.Count - 1} more failed step(s): {string.Join(", ", plan.Steps.Where(s => s != first && failed.ContainsKey(s.Id)).Select(s => s.Id))})";
        }

        if (unrun.Count > 0)
        {
            message += $"; not run: {string.Join(", ", unrun.Select(s => s.Id))}";
        }

        return Emitted(NodeResult.Fail(message).Assign(assignments));
    }

    private NodeResult Emitted(NodeResult result) => events.Aggregate(result, (r, e) => r.Emit(e));

    private async Task RunStepAsync(PlannedStep step, CancellationToken cancellationToken)
    {
        // Each step reads its own copy of the variables: steps run at once, and a JSON tree has one owner.
        var variables = Inputs(step);
        string? error = null;
        var attempts = step.Retries.Max + 1 + (step.Fallback is null ? 0 : 1);
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var fallback = step.Fallback is not null && attempt == attempts;
            if (attempt > 1 && !fallback)
            {
                await Task.Delay(step.Retries.WaitBefore(attempt - 1), clock, cancellationToken);
            }

            var node = fallback ? step.Fallback! : step.Node;
            var started = clock.GetUtcNow();
            var result = await AttemptAsync(node, variables, cancellationToken);
            var ended = clock.GetUtcNow();
            var outputs = new JsonObject();
            var completed = result.Outcome == NodeOutcome.Continue;
            if (completed)
            {
                foreach (var (name, value) in result.Assignments)
                {
                    outputs[name] = value?.DeepClone();
                }
            }
            else
            {
                error = result.Error ?? $"a \"{node.Type}\" step returned {result.Outcome}";
            }

            var attempted = new StepAttempted
            {
                StepId = step.Id,
                Attempt = attempt,
                Fallback = fallback,
                Status = completed ? StepAttempted.Completed : StepAttempted.Failed,
                StartedAt = started,
                EndedAt = ended,
                Outputs = completed ? outputs.DeepClone().AsObject() : null,
                Error = completed ? null : error,
            };

            lock (gate)
            {
                events.AddRange(result.Events.Select(inner => inner.InStep(step.Id, attempt)));
                events.Add(attempted);
                if (result.Outcome == NodeOutcome.Continue)
                {
                    finished[step.Id] = outputs;
                    running.Remove(step.Id);
                    return;
                }
            }
        }

        lock (gate)
        {
            failed[step.Id] = error!;
            running.Remove(step.Id);
        }
    }

    private async Task<NodeResult> AttemptAsync(CompiledNode node, JsonObject variables, CancellationToken cancellationToken)
    {
        var attemptContext = new NodeContext(node, variables, context.TurnNumber, context.Now, context.TenantId, context.Conversation, isStep: true, calls: context.Calls);
        try
        {
            return await node.Handler.ExecuteAsync(attemptContext, cancellationToken);
        }
        catch (Exception ex) when (ex is not Recordings.ReplayStoppedException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            return NodeResult.Fail($"{node.Type} failed: {ex.Message}");
        }
    }

    /// <summary>The run's variables, the outputs of the steps finished so far under `steps`, and the step's mappings.</summary>
    private JsonObject Inputs(PlannedStep step)
    {
        var variables = (JsonObject)context.Variables.DeepClone();
        lock (gate)
        {
            var steps = new JsonObject();
            foreach (var (id, outputs) in finished)
            {
                steps[id] = outputs.DeepClone();
            }

            variables[StepsVariable] = steps;
            foreach (var mapping in step.Mappings)
            {
                variables[mapping.ToField] = VariablePath.Get(finished[mapping.FromStep], mapping.FromField)?.DeepClone();
            }
        }

        return variables;
    }

    private void Report()
    {
        if (context.OnSteps is not { } report)
        {
            return;
        }

        lock (gate)
        {
            report(new StepsProgress(plan.Steps.Count, finished.Count, plan.Steps.Where(s => running.Contains(s.Id)).Select(s => s.Id).ToList()));
        }
    }

}
