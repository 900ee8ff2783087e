using Sessions.Testing;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Tests;

/// <summary>The run machine: its Stateless configuration, every (status, trigger) pair, its guards, its refusals and its diagram.</summary>
public class RunMachineTests
{
    /// <summary>The intended diagram, written out independently of the configuration so that a change to either is noticed.</summary>
    private static readonly Dictionary<(RunStatus, RunTrigger), RunStatus> Expected = new()
    {
        [(RunStatus.NotStarted, RunTrigger.Start)] = RunStatus.Started,
        [(RunStatus.NotStarted, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Started, RunTrigger.Continue)] = RunStatus.Running,
        [(RunStatus.Started, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Running, RunTrigger.WaitForInput)] = RunStatus.WaitingForUserInput,
        [(RunStatus.Running, RunTrigger.Pause)] = RunStatus.Paused,
        [(RunStatus.Running, RunTrigger.Complete)] = RunStatus.Completed,
        [(RunStatus.Running, RunTrigger.Fail)] = RunStatus.Failed,
        [(RunStatus.Running, RunTrigger.LoopRisk)] = RunStatus.AbortedLoopingRisk,
        [(RunStatus.Running, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Running, RunTrigger.Interrupt)] = RunStatus.Running,
        [(RunStatus.WaitingForUserInput, RunTrigger.Reply)] = RunStatus.Running,
        [(RunStatus.WaitingForUserInput, RunTrigger.TimeOut)] = RunStatus.Running,
        [(RunStatus.WaitingForUserInput, RunTrigger.Park)] = RunStatus.Paused,
        [(RunStatus.WaitingForUserInput, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.WaitingForUserInput, RunTrigger.Interrupt)] = RunStatus.WaitingForUserInput,
        [(RunStatus.Paused, RunTrigger.Resume)] = RunStatus.Running,
        [(RunStatus.Paused, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Paused, RunTrigger.Interrupt)] = RunStatus.Paused,
        [(RunStatus.Failed, RunTrigger.Retry)] = RunStatus.Running,
    };

    /// <summary>Transitions that only a guard's fact permits: with the fact false, the trigger is refused.</summary>
    private static readonly (RunStatus From, RunTrigger Trigger, RunStatus To, string Guard)[] Guarded =
    [
        (RunStatus.Running, RunTrigger.LoopRisk, RunStatus.AbortedLoopingRisk, "loop guard tripped"),
        (RunStatus.Failed, RunTrigger.Retry, RunStatus.Running, "it failed at a node"),
    ];

    public static TheoryData<RunStatus, RunTrigger> EveryPair()
    {
        var data = new TheoryData<RunStatus, RunTrigger>();
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            foreach (var trigger in Enum.GetValues<RunTrigger>())
            {
                data.Add(status, trigger);
            }
        }

        return data;
    }

    /// <summary>A state at <paramref name="status"/> whose guards' facts all hold.</summary>
    private static RunState Permissive(RunStatus status) => new(status) { LoopGuardTripped = true, FailedAt = "node" };

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void Every_status_and_trigger_pair_is_permitted_exactly_as_the_diagram_says(RunStatus from, RunTrigger trigger)
    {
        var state = Permissive(from);
        if (Expected.TryGetValue((from, trigger), out var to))
        {
            Assert.True(RunMachine.CanFire(state, trigger));
            RunMachine.Fire(state, trigger);
            Assert.Equal(to, state.Status);
            return;
        }

        Assert.False(RunMachine.CanFire(state, trigger));
        var refused = Assert.Throws<DomainException>(() => RunMachine.Fire(state, trigger));
        Assert.Equal(from, state.Status);
        Assert.Equal(ErrorKind.Conflict, refused.Kind);
        var expectedCode = RunMachine.IsTerminal(from) ? ProblemCodes.RunTerminal
            : trigger == RunTrigger.Retry ? ProblemCodes.RunNotRetryable
            : trigger == RunTrigger.Resume ? ProblemCodes.RunNotResumable
            : ProblemCodes.TransitionNotPermitted;
        Assert.Equal(expectedCode, refused.Code);

        // The refusal names what the status permits instead, in the triggers' wire names.
        var permitted = Expected.Keys.Where(k => k.Item1 == from).Select(k => k.Item2.ToWire()).Order().ToArray();
        Assert.Equal(permitted, ((string[])refused.Extensions["permitted_triggers"]!).Order().ToArray());
        Assert.Equal(from.ToWire(), refused.Extensions["run_status"]);
    }

    [Fact]
    public void A_guarded_trigger_is_refused_while_its_fact_does_not_hold_and_says_which_guard()
    {
        foreach (var (from, trigger, to, guard) in Guarded)
        {
            var state = new RunState(from);
            Assert.False(RunMachine.CanFire(state, trigger));
            Assert.DoesNotContain(trigger, RunMachine.PermittedTriggers(state));
            var refused = Assert.Throws<DomainException>(() => RunMachine.Fire(state, trigger));
            Assert.Equal(from, state.Status);
            Assert.DoesNotContain(trigger.ToWire(), (string[])refused.Extensions["permitted_triggers"]!);
            Assert.Contains($"{from} --> {to} : {trigger} [{guard}]", RunMachine.ToMermaid());
        }

        // A failed run without the node it failed at is not retryable; one with it is.
        Assert.Equal(ProblemCodes.RunNotRetryable, Assert.Throws<DomainException>(() => RunMachine.Fire(new RunState(RunStatus.Failed), RunTrigger.Retry)).Code);
        var failedAtNode = new RunState(RunStatus.Failed) { FailedAt = "charge" };
        RunMachine.Fire(failedAtNode, RunTrigger.Retry);
        Assert.Equal(RunStatus.Running, failedAtNode.Status);
    }

    [Fact]
    public void The_configuration_has_no_transition_beyond_the_diagram()
    {
        var configured = RunMachine.Info.States
            .SelectMany(s => s.FixedTransitions.Select(t => ((RunStatus)s.UnderlyingState, (RunTrigger)t.Trigger.UnderlyingTrigger, (RunStatus)t.DestinationState.UnderlyingState)))
            .ToHashSet();
        var expected = Expected.Select(p => (p.Key.Item1, p.Key.Item2, p.Value)).ToHashSet();
        Assert.Equal(expected.OrderBy(t => t.ToString()), configured.OrderBy(t => t.ToString()));
        Assert.Equal(Enum.GetValues<RunStatus>().Order(), RunMachine.Info.States.Select(s => (RunStatus)s.UnderlyingState).Order());
    }

    [Fact]
    public void Terminal_statuses_are_the_four_of_the_protocol_and_only_a_failed_run_has_a_way_out()
    {
        var terminal = Enum.GetValues<RunStatus>().Where(RunMachine.IsTerminal).ToHashSet();
        Assert.Equal(new HashSet<RunStatus> { RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled, RunStatus.AbortedLoopingRisk }, terminal);
        foreach (var status in terminal)
        {
            var ways = Enum.GetValues<RunTrigger>().Where(t => RunMachine.CanFire(Permissive(status), t)).ToList();
            Assert.Equal(status == RunStatus.Failed ? [RunTrigger.Retry] : [], ways);
            Assert.Equal(ProblemCodes.RunTerminal, Assert.Throws<DomainException>(() => RunMachine.EnsureNotTerminal(status)).Code);
        }
    }

    [Fact]
    public void Every_status_is_reachable_from_not_started_and_every_unfinished_one_can_be_cancelled()
    {
        var reached = new HashSet<RunStatus> { RunStatus.NotStarted };
        var frontier = new Queue<RunStatus>(reached);
        while (frontier.TryDequeue(out var status))
        {
            foreach (var ((from, _), to) in Expected.Where(p => p.Key.Item1 == status && reached.Add(p.Value)))
            {
                frontier.Enqueue(to);
            }
        }

        Assert.Equal(Enum.GetValues<RunStatus>().ToHashSet(), reached);
        Assert.All(Enum.GetValues<RunStatus>().Where(s => !RunMachine.IsTerminal(s)), s => Assert.True(RunMachine.CanFire(new RunState(s), RunTrigger.Cancel)));
    }

    [Fact]
    public void Machines_on_many_threads_fire_each_on_its_own_run_state()
    {
        var states = Enumerable.Range(0, 64).Select(_ => new RunState(RunStatus.NotStarted)).ToArray();
        Parallel.ForEach(states, new ParallelOptions { MaxDegreeOfParallelism = 8 }, state =>
        {
            for (var i = 0; i < 200; i++)
            {
                state.Status = RunStatus.NotStarted;
                RunMachine.Fire(state, RunTrigger.Start);
                RunMachine.Fire(state, RunTrigger.Continue);
                RunMachine.Fire(state, RunTrigger.WaitForInput);
                Assert.Equal(RunStatus.WaitingForUserInput, state.Status);
            }
        });
    }

    [Fact]
    public void The_diagram_is_stateless_own_export_of_the_configuration()
    {
        var mermaid = RunMachine.ToMermaid();
        Assert.StartsWith("stateDiagram-v2", mermaid);
        foreach (var ((from, trigger), to) in Expected.Where(p => p.Key.Item1 != p.Value))
        {
            Assert.Contains($"{from} --> {to} : {trigger}", mermaid);
        }
    }

    [Fact]
    public void Wire_names_round_trip()
    {
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            Assert.Equal(status, RunStatusNames.FromWire(status.ToWire()));
        }

        Assert.Equal(Enum.GetValues<RunTrigger>().Length, Enum.GetValues<RunTrigger>().Select(t => t.ToWire()).Distinct().Count());
    }

    [Fact]
    public void The_concepts_page_shows_the_diagram_the_machine_exports()
    {
        var page = File.ReadAllText(Path.Combine(Repository.Root, "docs", "concepts.md")).ReplaceLineEndings("\n");
        var diagram = RunMachine.ToMermaid().ReplaceLineEndings("\n").TrimEnd('\n');
        Assert.True(page.Contains("```mermaid\n" + diagram + "\n```", StringComparison.Ordinal), $"docs/concepts.md should contain, in a mermaid block:\n{diagram}");
    }
}
