using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Values;
using Sessions.Testing;

namespace Sessions.Runtime.Tests;

/// <summary>
/// The turn pipeline's stages without HTTP, on the real stores: what admission refuses (and that it writes nothing),
/// decisions taken again when this server's copy was stale, races between turns, every trigger of the run machine
/// driven by real turns, and, where servers share the store, the leased gate taking a run over.
/// </summary>
public abstract class TurnPipelineStageTests(TestStore store)
{
    /// <summary>A workflow in which each reply leads to one of the machine's triggers.</summary>
    protected const string EveryTrigger = """
        { "name": "every trigger", "start": "greet", "variables": { "n": 0 }, "nodes": [
          { "id": "greet", "type": "say", "text": "Hi", "next": "ask" },
          { "id": "ask", "type": "ask", "prompt": "What next?", "variable": "choice",
            "input": { "kind": "choice", "options": [ { "value": "pause" }, { "value": "loop" }, { "value": "fail" }, { "value": "slow" }, { "value": "end" } ] },
            "timeout_seconds": 60, "on_timeout": "timed_out", "next": "route" },
          { "id": "timed_out", "type": "say", "text": "Still there?", "next": "ask" },
          { "id": "route", "type": "branch", "cases": [
              { "when": { "var": "choice", "op": "eq", "value": "pause" }, "next": "hold" },
              { "when": { "var": "choice", "op": "eq", "value": "loop" }, "next": "spin" },
              { "when": { "var": "choice", "op": "eq", "value": "fail" }, "next": "boom" },
              { "when": { "var": "choice", "op": "eq", "value": "slow" }, "next": "wait" } ],
            "default": "done" },
          { "id": "hold", "type": "pause", "next": "ask" },
          { "id": "spin", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "spin_check" },
          { "id": "spin_check", "type": "branch", "cases": [ { "when": { "var": "n", "op": "gte", "value": 1000 }, "next": "done" } ], "default": "spin" },
          { "id": "boom", "type": "fail", "error": "boom" },
          { "id": "wait", "type": "set", "assign": { "waited": true }, "next": "ask",
            "self_loop": { "max_retries": 3, "seconds_between_retries": 30, "while": { "var": "waited", "op": "eq", "value": true } } },
          { "id": "done", "type": "end", "output": "bye" } ] }
        """;

    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);

    private Task<TestStack> StartAsync() => TestStack.StartAsync(store, services => services.AddSingleton<TimeProvider>(clock));

    private static TurnRequest Reply(string workflow, string runId, string? message, TurnCommand command = TurnCommand.Start) =>
        new() { TenantId = TestStack.Tenant, WorkflowId = workflow, RunId = runId, UserMessage = message, Command = command };

    private static async Task<DomainException> RefusedAsync(Func<Task> turn) => await Assert.ThrowsAsync<DomainException>(turn);

    /// <summary>Everything stored of a run, to check that a refusal wrote nothing.</summary>
    private static async Task<string> StoredAsync(TestStack stack, string runId) =>
        JsonSerializer.Serialize(new
        {
            run = await stack.Runs.GetAsync(TestStack.Tenant, runId, default),
            turns = await stack.Runs.GetAllTurnsAsync(TestStack.Tenant, runId, default),
            events = await stack.Runs.GetEventsAsync(TestStack.Tenant, runId, 0, 10_000, default),
        }, DocumentJson.Options);

    [Fact]
    public async Task Every_trigger_of_the_machine_is_fired_by_a_real_turn()
    {
        await using var stack = await StartAsync();
        var workflow = await stack.UploadAsync(EveryTrigger);

        // start, continue, wait_for_input.
        var run = (await stack.TurnAsync(workflow, null)).Run;
        Assert.Equal(RunStatus.WaitingForUserInput, run.Status);

        // time_out: the ask's timer fires in a turn of its own, which continues at on_timeout and asks again.
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(1, await stack.Get<RunWork>().RunDueAsync(default));
        run = (await stack.Runs.GetAsync(TestStack.Tenant, run.Id, default))!;
        Assert.Equal((RunStatus.WaitingForUserInput, 2), (run.Status, run.TurnNumber));
        Assert.Contains(await stack.Runs.GetEventsAsync(TestStack.Tenant, run.Id, 0, 100, default), e => e.Type == RunEventType.WaitTimeout);

        // park, then resume without a reply (asks again).
        Assert.Equal(RunStatus.Paused, (await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Pause)).Run.Status);
        Assert.Equal(RunStatus.WaitingForUserInput, (await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Resume)).Run.Status);

        // reply, then pause (a pause node), then resume.
        Assert.Equal(RunStatus.Paused, (await stack.TurnAsync(workflow, run.Id, "pause")).Run.Status);
        Assert.Equal(RunStatus.WaitingForUserInput, (await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Resume)).Run.Status);

        // interrupt: a turn waiting between two attempts of a node is cancelled by a turn sent to interrupt it.
        var slow = stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "slow"), default);
        await Eventually.TrueAsync(() => Task.FromResult(stack.Get<RunningTurns>().Find(TestStack.Tenant, run.Id) is not null), "the slow turn runs");
        var interrupting = await stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "end") with { OnBusy = BusyPolicy.Interrupt }, default);
        Assert.Equal(ProblemCodes.TurnCancelled, (await RefusedAsync(() => slow)).Code);

        // complete.
        Assert.Equal((RunStatus.Completed, "bye"), (interrupting.Run.Status, interrupting.Run.Output!.GetValue<string>()));

        // loop_risk, on another run; a finished run then permits nothing.
        var looping = (await stack.TurnAsync(workflow, null)).Run;
        Assert.Equal(RunStatus.AbortedLoopingRisk, (await stack.TurnAsync(workflow, looping.Id, "loop")).Run.Status);
        var finished = await RefusedAsync(() => stack.TurnAsync(workflow, looping.Id, "end"));
        Assert.Equal((ProblemCodes.RunTerminal, 0), (finished.Code, ((string[])finished.Extensions["permitted_triggers"]!).Length));

        // fail, retry (the failed node fails again), cancel.
        var failing = (await stack.TurnAsync(workflow, null)).Run;
        Assert.Equal(RunStatus.Failed, (await stack.TurnAsync(workflow, failing.Id, "fail")).Run.Status);
        var retried = await stack.TurnAsync(workflow, failing.Id, command: TurnCommand.Retry);
        Assert.Equal(RunStatus.Failed, retried.Run.Status);
        Assert.Contains(retried.Events, e => e.Type == RunEventType.RunRetried);
        var stopped = (await stack.TurnAsync(workflow, null)).Run;
        Assert.Equal(RunStatus.Cancelled, (await stack.TurnAsync(workflow, stopped.Id, command: TurnCommand.Stop)).Run.Status);
    }

    [Fact]
    public async Task Admission_refuses_before_anything_is_written_and_names_what_the_run_permits()
    {
        await using var stack = await StartAsync();
        var workflow = await stack.UploadAsync(EveryTrigger);
        var run = (await stack.TurnAsync(workflow, null)).Run;
        await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Pause);
        var before = await StoredAsync(stack, run.Id);

        var mismatch = await RefusedAsync(() => stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "end") with { ExpectedTurn = 1 }, default));
        Assert.Equal((ProblemCodes.TurnMismatch, 2), (mismatch.Code, (int)mismatch.Extensions["current_turn"]!));

        var again = await RefusedAsync(() => stack.TurnAsync(workflow, run.Id, command: TurnCommand.Pause));
        Assert.Equal(ProblemCodes.TransitionNotPermitted, again.Code);
        Assert.Equal(["resume", "cancel", "interrupt"], (string[])again.Extensions["permitted_triggers"]!);

        var retry = await RefusedAsync(() => stack.TurnAsync(workflow, run.Id, command: TurnCommand.Retry));
        Assert.Equal(ProblemCodes.RunNotRetryable, retry.Code);

        // A background turn is admitted by the same pipeline: the reply the run would refuse is refused at acceptance.
        await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Resume);
        before = await StoredAsync(stack, run.Id);
        var unfit = await RefusedAsync(() => stack.Get<BackgroundTurns>().AcceptAsync(Reply(workflow, run.Id, "sideways"), null, default));
        Assert.Equal(ProblemCodes.InvalidReply, unfit.Code);
        Assert.Equal(before, await StoredAsync(stack, run.Id));
    }

    [Fact]
    public async Task A_decision_taken_on_a_stale_copy_of_the_run_is_taken_again_on_the_stored_run()
    {
        await using var stack = await StartAsync();
        var workflow = await stack.UploadAsync(EveryTrigger);
        var run = (await stack.TurnAsync(workflow, null)).Run;
        var firstJson = JsonSerializer.Serialize(run, DocumentJson.Options);
        await stack.TurnAsync(workflow, run.Id, "pause");
        await stack.TurnAsync(workflow, run.Id, command: TurnCommand.Resume);

        // This server's copy goes back to turn 1: the turn sent for turn 3 would be a mismatch on it.
        stack.Get<RecentRuns>().Remember(run, firstJson);
        var taken = await stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "end") with { ExpectedTurn = 3 }, default);
        Assert.Equal((RunStatus.Completed, 4), (taken.Run.Status, taken.Run.TurnNumber));
    }

    [Fact]
    public async Task Of_two_turns_racing_for_a_run_one_is_applied_and_the_other_is_refused_or_waits_its_turn()
    {
        await using var stack = await StartAsync();
        var workflow = await stack.UploadAsync(EveryTrigger);
        var run = (await stack.TurnAsync(workflow, null)).Run;

        // The first is held between two attempts of its node; the second meets a busy run.
        var slow = stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "slow"), default);
        await Eventually.TrueAsync(() => Task.FromResult(stack.Get<RunningTurns>().Find(TestStack.Tenant, run.Id) is not null), "the slow turn runs");
        Assert.Equal(ProblemCodes.TurnConflict, (await RefusedAsync(() => stack.TurnAsync(workflow, run.Id, "end"))).Code);

        var waiting = stack.Turns.ExecuteAsync(Reply(workflow, run.Id, "end") with { OnBusy = BusyPolicy.Enqueue }, default);
        for (var attempt = 0; attempt < 4 && !slow.IsCompleted; attempt++)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            await Task.WhenAny(slow, Task.Delay(200));
        }

        Assert.Equal((RunStatus.WaitingForUserInput, 2), ((await slow).Run.Status, (await slow).Run.TurnNumber));
        var after = await waiting;
        Assert.Equal((RunStatus.Completed, 3), (after.Run.Status, after.Run.TurnNumber));
    }
}

public sealed class SqliteTurnPipelineStageTests() : TurnPipelineStageTests(TestStore.Sqlite);

public sealed class PostgresTurnPipelineStageTests() : TurnPipelineStageTests(TestStore.Postgres)
{
    private static TurnRequest Reply(string workflow, string runId, string message, TurnCommand command = TurnCommand.Start) =>
        new() { TenantId = TestStack.Tenant, WorkflowId = workflow, RunId = runId, UserMessage = message, Command = command };

    private const string Greeter = """
        { "name": "greeter", "start": "ask", "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "done" },
          { "id": "done", "type": "end", "output": "{{name}}" } ] }
        """;

    /// <summary>Writes a lease into the stored run as if a turn on a third server held it until <paramref name="until"/>.</summary>
    private static async Task LeaseAsync(TestStack stack, string runId, DateTimeOffset until)
    {
        var stored = (await stack.Runs.GetAsync(TestStack.Tenant, runId, default))!;
        var leased = stored with { Version = stored.Version + 1, Lease = new TurnLease("a-turn-elsewhere", until) };
        Assert.True((await stack.Runs.TryReplaceAsync(leased, stored.Version, WriteDurability.Durable, default)).Written);
    }

    [Fact]
    public async Task A_live_lease_of_another_server_refuses_a_turn_an_expired_one_is_taken_over_and_a_stop_takes_a_live_one()
    {
        await using var first = await TestStack.StartAsync(TestStore.Postgres);
        await using var second = await first.SecondServerAsync();
        var workflow = await first.UploadAsync(Greeter);
        var run = (await first.TurnAsync(workflow, null)).Run;

        await LeaseAsync(first, run.Id, DateTimeOffset.UtcNow.AddMinutes(5));
        var busy = await Assert.ThrowsAsync<DomainException>(() => second.Turns.ExecuteAsync(Reply(workflow, run.Id, "Ada"), default));
        Assert.Equal(ProblemCodes.TurnConflict, busy.Code);

        // The server that held it died: its lease ran out, and the next turn takes the run.
        await LeaseAsync(first, run.Id, DateTimeOffset.UtcNow.AddSeconds(-1));
        var taken = await second.Turns.ExecuteAsync(Reply(workflow, run.Id, "Ada"), default);
        Assert.Equal((RunStatus.Completed, "Ada"), (taken.Run.Status, taken.Run.Output!.GetValue<string>()));
        Assert.Null((await first.Runs.GetAsync(TestStack.Tenant, run.Id, default))!.Lease);

        // A stop takes even a live lease over: the turn that had it will find its run cancelled.
        var other = (await first.TurnAsync(workflow, null)).Run;
        await LeaseAsync(first, other.Id, DateTimeOffset.UtcNow.AddMinutes(5));
        var stopped = await second.Turns.ExecuteAsync(Reply(workflow, other.Id, null!, TurnCommand.Stop), default);
        Assert.Equal(RunStatus.Cancelled, stopped.Run.Status);
    }

    [Fact]
    public async Task A_turn_held_only_in_memory_that_finds_its_copy_stale_goes_again_on_the_run_as_stored()
    {
        await using var first = await TestStack.StartAsync(TestStore.Postgres);
        await using var second = await first.SecondServerAsync();
        var workflow = await first.UploadAsync(EveryTrigger.Replace("every trigger", "stale copies"));
        var run = (await first.TurnAsync(workflow, null)).Run;

        // The first server remembers the run at turn 1; the second moves it to turn 3 meanwhile.
        await second.TurnAsync(workflow, run.Id, "pause");
        await second.TurnAsync(workflow, run.Id, command: TurnCommand.Resume);

        // Its commit finds the run moved on: nothing was done outside, so the turn goes again on turn 3 and is applied once.
        var taken = await first.Turns.ExecuteAsync(Reply(workflow, run.Id, "end"), default);
        Assert.Equal((RunStatus.Completed, 4), (taken.Run.Status, taken.Run.TurnNumber));
        Assert.Equal(4, (await first.Runs.GetAllTurnsAsync(TestStack.Tenant, run.Id, default)).Count);
    }
}
