using System.Text;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Runs;

/// <summary>
/// The one place where a run's status may change: a declarative table of permitted transitions,
/// read top to bottom like the diagram it prints. Anything not listed is refused.
/// </summary>
public static class RunStateMachine
{
    private static readonly StateTable Table = new StateTable()
        .Configure(RunStatus.NotStarted)
            .Permit(RunTrigger.Start, RunStatus.Started)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
        .Configure(RunStatus.Started)
            .Permit(RunTrigger.Step, RunStatus.Running)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
        .Configure(RunStatus.Running)
            .Permit(RunTrigger.AwaitInput, RunStatus.WaitingForUserInput)
            .Permit(RunTrigger.Pause, RunStatus.Paused)
            .Permit(RunTrigger.Complete, RunStatus.Completed)
            .Permit(RunTrigger.Fail, RunStatus.Failed)
            .Permit(RunTrigger.TripLoopGuard, RunStatus.AbortedLoopingRisk)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
        .Configure(RunStatus.WaitingForUserInput)
            .Permit(RunTrigger.Reply, RunStatus.Running)
            .Permit(RunTrigger.TimeOut, RunStatus.Running)
            .Permit(RunTrigger.Park, RunStatus.Paused)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
        .Configure(RunStatus.Paused)
            .Permit(RunTrigger.Resume, RunStatus.Running)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
        .Configure(RunStatus.Completed).Terminal()
        .Configure(RunStatus.Failed).Terminal()
            .Permit(RunTrigger.Retry, RunStatus.Running)
        .Configure(RunStatus.Cancelled).Terminal()
        .Configure(RunStatus.AbortedLoopingRisk).Terminal();

    /// <summary>
    /// A finished run: it takes no more turns, except that a failed one may be retried (its one way out). Clients see
    /// it as `is_completed`, and finished runs are what the reaper and the cancel endpoint leave alone.
    /// </summary>
    public static bool IsTerminal(RunStatus status) => Table.IsTerminal(status);

    /// <summary>A finished run takes no more turns, whatever the command: a 409 with code run_terminal.</summary>
    public static void EnsureNotTerminal(RunStatus status)
    {
        if (IsTerminal(status))
        {
            throw Refused(status, RunTrigger.Step);
        }
    }

    public static bool CanFire(RunStatus from, RunTrigger trigger) => Table.TryGetTarget(from, trigger, out _);

    /// <summary>The status after <paramref name="trigger"/>; a refused trigger is a 409 for the caller.</summary>
    public static RunStatus Fire(RunStatus from, RunTrigger trigger)
    {
        if (Table.TryGetTarget(from, trigger, out var to))
        {
            return to;
        }

        throw Refused(from, trigger);
    }

    private static DomainException Refused(RunStatus from, RunTrigger trigger)
    {
        var code = IsTerminal(from) ? ProblemCodes.RunTerminal : ProblemCodes.TransitionNotPermitted;
        return new DomainException(
                ErrorKind.Conflict,
                code,
                IsTerminal(from) ? "Run is finished" : "Not permitted in this status",
                IsTerminal(from)
                    ? $"The run is '{from.ToWire()}' and takes no more turns."
                    : $"A run in status '{from.ToWire()}' does not accept '{trigger}'.")
            .With("run_status", from.ToWire());
    }

    public static IReadOnlyList<(RunStatus From, RunTrigger Trigger, RunStatus To)> Transitions => Table.Rows;

    /// <summary>The table as a Mermaid state diagram, for the README and for reviewers.</summary>
    public static string ToMermaid()
    {
        var text = new StringBuilder("stateDiagram-v2\n");
        text.Append("    [*] --> ").Append(RunStatus.NotStarted.ToWire()).Append('\n');
        foreach (var (from, trigger, to) in Table.Rows)
        {
            text.Append($"    {from.ToWire()} --> {to.ToWire()} : {trigger}\n");
        }

        foreach (var status in Enum.GetValues<RunStatus>().Where(Table.IsFinal))
        {
            text.Append($"    {status.ToWire()} --> [*]\n");
        }

        return text.ToString();
    }

    /// <summary>A tiny Stateless-style builder: Configure(state).Permit(trigger, target)...</summary>
    private sealed class StateTable
    {
        private readonly Dictionary<(RunStatus, RunTrigger), RunStatus> targets = new();
        private readonly List<(RunStatus, RunTrigger, RunStatus)> rows = [];
        private readonly HashSet<RunStatus> configured = [];
        private readonly HashSet<RunStatus> terminal = [];
        private RunStatus current;

        public IReadOnlyList<(RunStatus From, RunTrigger Trigger, RunStatus To)> Rows => rows;

        public StateTable Configure(RunStatus state)
        {
            if (!configured.Add(state))
            {
                throw new InvalidOperationException($"State {state} is configured twice.");
            }

            current = state;
            return this;
        }

        /// <summary>Marks the state configured last as terminal: the run is finished there.</summary>
        public StateTable Terminal()
        {
            terminal.Add(current);
            return this;
        }

        public StateTable Permit(RunTrigger trigger, RunStatus to)
        {
            if (!targets.TryAdd((current, trigger), to))
            {
                throw new InvalidOperationException($"{current} permits {trigger} twice.");
            }

            rows.Add((current, trigger, to));
            return this;
        }

        public bool TryGetTarget(RunStatus from, RunTrigger trigger, out RunStatus to) =>
            targets.TryGetValue((from, trigger), out to);

        public bool IsTerminal(RunStatus state) => terminal.Contains(state);

        /// <summary>A state with no way out at all: the diagram's ends.</summary>
        public bool IsFinal(RunStatus state) => rows.All(r => r.Item1 != state);
    }
}
