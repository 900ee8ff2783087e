using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Tests;

public class RunStateMachineTests
{
    /// <summary>The intended diagram, written out independently of the table so that a change to either is noticed.</summary>
    private static readonly Dictionary<(RunStatus, RunTrigger), RunStatus> Expected = new()
    {
        [(RunStatus.NotStarted, RunTrigger.Start)] = RunStatus.Started,
        [(RunStatus.NotStarted, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Started, RunTrigger.Step)] = RunStatus.Running,
        [(RunStatus.Started, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Running, RunTrigger.AwaitInput)] = RunStatus.WaitingForUserInput,
        [(RunStatus.Running, RunTrigger.Pause)] = RunStatus.Paused,
        [(RunStatus.Running, RunTrigger.Complete)] = RunStatus.Completed,
        [(RunStatus.Running, RunTrigger.Fail)] = RunStatus.Failed,
        [(RunStatus.Running, RunTrigger.TripLoopGuard)] = RunStatus.AbortedLoopingRisk,
        [(RunStatus.Running, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.WaitingForUserInput, RunTrigger.Reply)] = RunStatus.Running,
        [(RunStatus.WaitingForUserInput, RunTrigger.TimeOut)] = RunStatus.Running,
        [(RunStatus.WaitingForUserInput, RunTrigger.Park)] = RunStatus.Paused,
        [(RunStatus.WaitingForUserInput, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Paused, RunTrigger.Resume)] = RunStatus.Running,
        [(RunStatus.Paused, RunTrigger.Cancel)] = RunStatus.Cancelled,
        [(RunStatus.Failed, RunTrigger.Retry)] = RunStatus.Running,
    };

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

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void Every_state_and_trigger_pair_is_permitted_exactly_as_the_diagram_says(RunStatus from, RunTrigger trigger)
    {
        if (Expected.TryGetValue((from, trigger), out var to))
        {
            Assert.True(RunStateMachine.CanFire(from, trigger));
            Assert.Equal(to, RunStateMachine.Fire(from, trigger));
        }
        else
        {
            Assert.False(RunStateMachine.CanFire(from, trigger));
            var refused = Assert.Throws<DomainException>(() => RunStateMachine.Fire(from, trigger));
            Assert.Equal(ErrorKind.Conflict, refused.Kind);
            Assert.Equal(RunStateMachine.IsTerminal(from) ? ProblemCodes.RunTerminal : ProblemCodes.TransitionNotPermitted, refused.Code);
        }
    }

    [Fact]
    public void The_table_has_no_rows_beyond_the_diagram()
    {
        Assert.Equal(Expected.Count, RunStateMachine.Transitions.Count);
    }

    [Fact]
    public void A_failed_run_is_finished_but_may_be_retried_and_the_other_ends_have_no_way_out()
    {
        Assert.True(RunStateMachine.IsTerminal(RunStatus.Failed));
        Assert.Equal(RunStatus.Running, RunStateMachine.Fire(RunStatus.Failed, RunTrigger.Retry));
        Assert.All(
            new[] { RunStatus.Completed, RunStatus.Cancelled, RunStatus.AbortedLoopingRisk },
            s => Assert.DoesNotContain(RunStateMachine.Transitions, r => r.From == s));
    }

    [Fact]
    public void Terminal_statuses_are_the_four_of_the_protocol()
    {
        var terminal = Enum.GetValues<RunStatus>().Where(RunStateMachine.IsTerminal).ToHashSet();
        Assert.Equal(new HashSet<RunStatus> { RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled, RunStatus.AbortedLoopingRisk }, terminal);
    }

    [Fact]
    public void Every_status_is_reachable_from_not_started_and_can_reach_a_terminal_status()
    {
        var reached = new HashSet<RunStatus> { RunStatus.NotStarted };
        var frontier = new Queue<RunStatus>(reached);
        while (frontier.TryDequeue(out var status))
        {
            foreach (var row in RunStateMachine.Transitions.Where(r => r.From == status && reached.Add(r.To)))
            {
                frontier.Enqueue(row.To);
            }
        }

        Assert.Equal(Enum.GetValues<RunStatus>().ToHashSet(), reached);
        Assert.All(
            Enum.GetValues<RunStatus>().Where(s => !RunStateMachine.IsTerminal(s)),
            s => Assert.Contains(RunStateMachine.Transitions, r => r.From == s && r.Trigger == RunTrigger.Cancel));
    }

    [Fact]
    public void Mermaid_diagram_lists_every_transition()
    {
        var mermaid = RunStateMachine.ToMermaid();
        Assert.StartsWith("stateDiagram-v2", mermaid);
        foreach (var (from, trigger, to) in RunStateMachine.Transitions)
        {
            Assert.Contains($"{from.ToWire()} --> {to.ToWire()} : {trigger}", mermaid);
        }
    }

    [Fact]
    public void Wire_names_round_trip()
    {
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            Assert.Equal(status, RunStatusNames.FromWire(status.ToWire()));
        }
    }

    [Fact]
    public void The_readme_shows_the_diagram_the_table_prints()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).ReplaceLineEndings("\n");
        var diagram = RunStateMachine.ToMermaid();
        Assert.True(readme.Contains(diagram, StringComparison.Ordinal), $"README.md should contain, in a mermaid block:\n{diagram}");
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string file = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "..", ".."));
}
