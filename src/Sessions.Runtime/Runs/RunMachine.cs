using Sessions.Runtime.Errors;
using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace Sessions.Runtime.Runs;

/// <summary>
/// A run's status while a turn works on it, with the facts the machine's guards read. The status changes only when
/// <see cref="RunMachine"/> fires a trigger at it.
/// </summary>
public sealed class RunState(RunStatus status)
{
    public RunStatus Status { get; internal set; } = status;

    /// <summary>The loop guard stopped the turn (<see cref="RunTrigger.LoopRisk"/> is permitted only then).</summary>
    public bool LoopGuardTripped { get; set; }

    /// <summary>The node a failed run failed at, which a <see cref="RunTrigger.Retry"/> runs again; null if it has none.</summary>
    public string? FailedAt { get; set; }
}

/// <summary>
/// The one place where a run's status changes: one Stateless <see cref="StateMachine{TState, TTrigger}"/> configuration,
/// read top to bottom like the diagram it exports, over the status of a <see cref="RunState"/> (the machine's external
/// state accessor and mutator). A trigger the status does not permit is a 409 naming the triggers it does permit.
/// </summary>
/// <remarks>
/// Configuring a Stateless machine costs about 12 µs and 15 KB; a turn fires three or four triggers at 0.8 µs each.
/// So each thread configures the machine once and points it at the run state it fires on: firing is synchronous, and
/// nothing else runs on the thread meanwhile.
/// </remarks>
public static class RunMachine
{
    private static readonly RunStatus[] Finished = [RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled, RunStatus.AbortedLoopingRisk];

    [ThreadStatic]
    private static Bound? bound;

    /// <summary>The configuration, as Stateless describes it: what the diagram and the tests read.</summary>
    public static StateMachineInfo Info { get; } = Configure(new Bound { State = new RunState(RunStatus.NotStarted) }).GetInfo();

    private sealed class Bound
    {
        public RunState State { get; set; } = null!;

        public StateMachine<RunStatus, RunTrigger> Machine { get; set; } = null!;
    }

    private static StateMachine<RunStatus, RunTrigger> Configure(Bound bound)
    {
        var machine = new StateMachine<RunStatus, RunTrigger>(() => bound.State.Status, status => bound.State.Status = status, FiringMode.Immediate);
        machine.Configure(RunStatus.NotStarted)
            .Permit(RunTrigger.Start, RunStatus.Started)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled);
        machine.Configure(RunStatus.Started)
            .Permit(RunTrigger.Continue, RunStatus.Running)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled);
        machine.Configure(RunStatus.Running)
            .Permit(RunTrigger.WaitForInput, RunStatus.WaitingForUserInput)
            .Permit(RunTrigger.Pause, RunStatus.Paused)
            .Permit(RunTrigger.Complete, RunStatus.Completed)
            .Permit(RunTrigger.Fail, RunStatus.Failed)
            .PermitIf(RunTrigger.LoopRisk, RunStatus.AbortedLoopingRisk, () => bound.State.LoopGuardTripped, "loop guard tripped")
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
            .PermitReentry(RunTrigger.Interrupt);
        machine.Configure(RunStatus.WaitingForUserInput)
            .Permit(RunTrigger.Reply, RunStatus.Running)
            .Permit(RunTrigger.TimeOut, RunStatus.Running)
            .Permit(RunTrigger.Park, RunStatus.Paused)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
            .PermitReentry(RunTrigger.Interrupt);
        machine.Configure(RunStatus.Paused)
            .Permit(RunTrigger.Resume, RunStatus.Running)
            .Permit(RunTrigger.Cancel, RunStatus.Cancelled)
            .PermitReentry(RunTrigger.Interrupt);
        machine.Configure(RunStatus.Failed)
            .PermitIf(RunTrigger.Retry, RunStatus.Running, () => bound.State.FailedAt is not null, "it failed at a node");
        machine.Configure(RunStatus.Completed);
        machine.Configure(RunStatus.Cancelled);
        machine.Configure(RunStatus.AbortedLoopingRisk);
        machine.OnUnhandledTrigger((status, trigger, unmetGuards) =>
            throw Refused(status, trigger, unmetGuards, Enum.GetValues<RunTrigger>().Where(bound.Machine.CanFire).ToList()));
        return machine;
    }

    /// <summary>Moves <paramref name="state"/> by <paramref name="trigger"/>; a trigger its status does not permit is a 409.</summary>
    public static void Fire(RunState state, RunTrigger trigger) => On(state).Fire(trigger);

    public static bool CanFire(RunState state, RunTrigger trigger) => On(state).CanFire(trigger);

    /// <summary>What the machine would let <paramref name="state"/> do now, guards included.</summary>
    public static IReadOnlyList<RunTrigger> PermittedTriggers(RunState state)
    {
        var machine = On(state);
        return Enum.GetValues<RunTrigger>().Where(machine.CanFire).ToList();
    }

    /// <summary>
    /// A finished run: it takes no more turns, except that a failed one may be retried (its one way out). Clients see
    /// it as `is_completed`, and finished runs are what the reaper and the cancel endpoint leave alone.
    /// </summary>
    public static bool IsTerminal(RunStatus status) => Finished.Contains(status);

    /// <summary>The statuses in which a run waits for people: for a reply, or to be resumed.</summary>
    public static IReadOnlyList<RunStatus> WaitingForPeople { get; } = [RunStatus.WaitingForUserInput, RunStatus.Paused];

    /// <summary>A finished run takes no more turns, whatever the command: a 409 with code run_terminal.</summary>
    public static void EnsureNotTerminal(RunStatus status)
    {
        if (IsTerminal(status))
        {
            throw Refused(status, RunTrigger.Continue, [], PermittedTriggers(new RunState(status)));
        }
    }

    /// <summary>The machine as a Mermaid state diagram, exported by Stateless from its configuration: docs/concepts.md shows it.</summary>
    public static string ToMermaid() => MermaidGraph.Format(Info);

    private static StateMachine<RunStatus, RunTrigger> On(RunState state)
    {
        if (bound is null)
        {
            // Stateless reads the state once when it is built.
            var fresh = new Bound { State = state };
            fresh.Machine = Configure(fresh);
            bound = fresh;
        }

        bound.State = state;
        return bound.Machine;
    }

    /// <summary>
    /// Why a trigger was refused, with the triggers the state permits (guards included): a finished run takes no more turns, a `retry`
    /// wants a run that failed at a node, a `resume` a paused or waiting run; anything else is not permitted now.
    /// </summary>
    private static DomainException Refused(RunStatus status, RunTrigger trigger, ICollection<string> unmetGuards, IReadOnlyList<RunTrigger> permitted)
    {
        var refusal = (status, trigger) switch
        {
            (RunStatus.Failed, RunTrigger.Retry) => new DomainException(
                ErrorKind.Conflict, ProblemCodes.RunNotRetryable, "Run is not retryable", $"'retry' runs a failed run again from the node that failed; this run failed at none ({string.Join(", ", unmetGuards)} is not so)."),
            _ when IsTerminal(status) => new DomainException(
                ErrorKind.Conflict, ProblemCodes.RunTerminal, "Run is finished", $"The run is '{status.ToWire()}' and takes no more turns."),
            (_, RunTrigger.Retry) => new DomainException(
                ErrorKind.Conflict, ProblemCodes.RunNotRetryable, "Run is not retryable", $"'retry' runs a failed run again from the node that failed; this run is '{status.ToWire()}'."),
            (_, RunTrigger.Resume) => new DomainException(
                ErrorKind.Conflict, ProblemCodes.RunNotResumable, "Run is not resumable", $"'resume' continues a paused or waiting run; this run is '{status.ToWire()}'."),
            _ => new DomainException(
                ErrorKind.Conflict, ProblemCodes.TransitionNotPermitted, "Not permitted in this status", $"A run in status '{status.ToWire()}' does not accept '{trigger.ToWire()}'."),
        };
        return refusal
            .With("run_status", status.ToWire())
            .With("permitted_triggers", permitted.Select(t => t.ToWire()).ToArray());
    }
}
