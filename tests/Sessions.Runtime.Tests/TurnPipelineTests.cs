using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Values;
using Sessions.Testing;

namespace Sessions.Runtime.Tests;

public class TurnPipelineTests
{
    private const string Counter = """
        { "name": "counter", "start": "ask", "variables": { "n": 0 },
          "nodes": [
            { "id": "ask", "type": "ask", "prompt": "How many?", "variable": "wanted", "input": { "kind": "integer", "min": 1, "max": 50 }, "next": "inc" },
            { "id": "inc", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "check" },
            { "id": "check", "type": "branch", "cases": [ { "when": { "var": "n", "op": "gte", "value": 3 }, "next": "done" } ], "default": "inc" },
            { "id": "done", "type": "end", "output": "{{n}}" } ] }
        """;

    [Fact]
    public async Task A_pattern_that_would_backtrack_catastrophically_answers_at_once_and_never_fails_the_run()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync("""
            { "name": "hostile pattern", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Say a's", "variable": "said", "next": "check" },
              { "id": "check", "type": "branch", "cases": [ { "when": { "var": "said", "op": "matches", "value": "^(a+)+$" }, "next": "yes" } ], "default": "no" },
              { "id": "yes", "type": "end", "output": "all a" },
              { "id": "no", "type": "end", "output": "not only a" } ] }
            """);
        var first = await stack.TurnAsync(workflow, null);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var answered = await stack.TurnAsync(workflow, first.Run.Id, new string('a', 5000) + "!");
        Assert.Equal((RunStatus.Completed, "not only a"), (answered.Run.Status, answered.Run.Output!.GetValue<string>()));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");

        var second = await stack.TurnAsync(workflow, null);
        Assert.Equal("all a", (await stack.TurnAsync(workflow, second.Run.Id, new string('a', 5000))).Run.Output!.GetValue<string>());
    }

    [Fact]
    public async Task A_bounded_loop_completes_within_the_guard()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var second = await stack.TurnAsync(workflow, first.Run.Id, "5");
        Assert.True(second.Run.Status == RunStatus.Completed, second.Run.Error);
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(3L), second.Run.Output));
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(5L), second.Run.Variables["wanted"]));
    }

    [Fact]
    public async Task Loop_guard_stops_the_turn_and_names_the_cycle_keeping_the_state()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter.Replace("\"value\": 3", "\"value\": 1000"));
        var first = await stack.TurnAsync(workflow, null);
        var looped = await stack.TurnAsync(workflow, first.Run.Id, "5");

        Assert.Equal(RunStatus.AbortedLoopingRisk, looped.Run.Status);
        Assert.True(looped.IsCompleted);
        var abort = Assert.Single(looped.Events, e => e.Type.ToWire() == "aborted_looping_risk");
        Assert.Equal(["inc", "check"], ((LoopRiskAborted)abort.Payload).Cycle);
        Assert.Contains("inc -> check -> inc", looped.Run.Error);
        Assert.Equal("loop_guard", looped.Run.TerminationSource?.ToWire());

        // Ten visits of `inc` ran before the eleventh was refused; the variables they set are kept.
        var stored = await stack.Runs.GetAsync(TestStack.Tenant, first.Run.Id, CancellationToken.None);
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(10L), stored!.Variables["n"]));
        Assert.Equal(RunStatus.AbortedLoopingRisk, stored.Status);
    }

    [Fact]
    public async Task Max_node_executions_per_turn_trips_before_the_per_node_limit()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter
            .Replace("\"value\": 3", "\"value\": 1000")
            .Replace("\"variables\"", "\"limits\": { \"max_node_executions_per_turn\": 7 }, \"variables\""));
        var first = await stack.TurnAsync(workflow, null);
        var looped = await stack.TurnAsync(workflow, first.Run.Id, "5");
        Assert.Equal(RunStatus.AbortedLoopingRisk, looped.Run.Status);
        Assert.Equal(7, looped.Events.Count(e => e.Type.ToWire() == "start_node_run"));
    }

    [Fact]
    public async Task A_rejected_reply_writes_nothing()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var before = await Snapshot(stack, first.Run.Id);

        var refused = await Assert.ThrowsAsync<DomainException>(() => stack.TurnAsync(workflow, first.Run.Id, "500"));
        Assert.Equal(ProblemCodes.InvalidReply, refused.Code);
        Assert.Equal("a whole number from 1 to 50", refused.Extensions["expected"]);

        Assert.Equal(before, await Snapshot(stack, first.Run.Id));
    }

    [Fact]
    public async Task A_commit_from_a_stale_read_is_a_conflict_and_writes_nothing()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var stale = await stack.Runs.GetAsync(TestStack.Tenant, first.Run.Id, CancellationToken.None);
        await stack.TurnAsync(workflow, first.Run.Id, "2");
        var before = await Snapshot(stack, first.Run.Id);

        var forked = stale! with { Version = stale.Version + 1, TurnNumber = 2, LastSeq = stale.LastSeq + 1 };
        var turn = new TurnDocument(stale.Id, 2, [], [], stale.LastSeq + 1, stale.LastSeq + 1, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var events = new[] { new RunEvent(stale.Id, stale.LastSeq + 1, 2, null, DateTimeOffset.UtcNow, new UserMessage("hi")) };
        await Assert.ThrowsAsync<StoreConflictException>(() => stack.Runs.CommitTurnAsync(new TurnCommit(forked, stale.Version, events, turn), CancellationToken.None));

        Assert.Equal(before, await Snapshot(stack, first.Run.Id));
    }

    [Fact]
    public async Task An_enqueued_turn_waits_for_a_committed_turn_to_let_go_of_its_run_instead_of_spinning()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var runId = (await stack.TurnAsync(workflow, null)).Run.Id;

        // A turn of this process that has committed (its number is the run's) but not yet let go of the run: the run is
        // no longer busy, yet it cannot be taken until that turn leaves. Retrying at once instead recursed until the
        // process's stack overflowed (SQLite's reads complete synchronously).
        var running = stack.Get<RunningTurns>();
        var leaving = running.TryEnter(TestStack.Tenant, runId, "committed-turn", turnNumber: 1)!;
        var enqueued = stack.Turns.ExecuteAsync(
            new TurnRequest { TenantId = TestStack.Tenant, WorkflowId = workflow, RunId = runId, UserMessage = "1", Command = TurnCommand.Start, OnBusy = BusyPolicy.Enqueue },
            CancellationToken.None);
        await Task.Delay(300);
        Assert.False(enqueued.IsCompleted);

        running.Exit(leaving);
        var outcome = await enqueued.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, outcome.Run.TurnNumber);
    }

    [Fact]
    public async Task Pause_command_parks_a_waiting_run_and_a_reply_resumes_it()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var parked = await stack.TurnAsync(workflow, first.Run.Id, command: TurnCommand.Pause);
        Assert.Equal(RunStatus.Paused, parked.Run.Status);
        Assert.Null(parked.NextInputHint);

        var reasked = await stack.TurnAsync(workflow, first.Run.Id, command: TurnCommand.Resume);
        Assert.Equal(RunStatus.WaitingForUserInput, reasked.Run.Status);
        Assert.Equal("busy_wait_for_user_message", reasked.Events[^1].Type.ToWire());

        await stack.TurnAsync(workflow, first.Run.Id, command: TurnCommand.Pause);
        var answered = await stack.TurnAsync(workflow, first.Run.Id, "4", TurnCommand.Resume);
        Assert.Equal(RunStatus.Completed, answered.Run.Status);
        Assert.Equal(5, answered.Run.TurnNumber);
    }

    [Fact]
    public async Task Stop_cancels_and_a_finished_run_takes_no_more_turns()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var stopped = await stack.TurnAsync(workflow, first.Run.Id, command: TurnCommand.Stop);
        Assert.Equal(RunStatus.Cancelled, stopped.Run.Status);
        Assert.Equal(["cancelled", "end_workflow"], stopped.Events.Select(e => e.Type.ToWire()));
        Assert.Equal("user_stop", stopped.Run.TerminationSource?.ToWire());

        foreach (var command in Enum.GetValues<TurnCommand>())
        {
            var refused = await Assert.ThrowsAsync<DomainException>(() => stack.TurnAsync(workflow, first.Run.Id, "3", command));
            Assert.Equal(ProblemCodes.RunTerminal, refused.Code);
        }
    }

    [Fact]
    public async Task A_fail_node_fails_the_run_with_its_templated_error()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync("""
            { "name": "f", "start": "f", "variables": { "code": 42 }, "nodes": [ { "id": "f", "type": "fail", "error": "Upstream said {{code}}" } ] }
            """);
        var outcome = await stack.TurnAsync(workflow, null);
        Assert.Equal(RunStatus.Failed, outcome.Run.Status);
        Assert.Equal("Upstream said 42", outcome.Run.Error);
        Assert.Equal(["start_workflow", "start_node_run", "error", "end_node_run", "end_workflow"], outcome.Events.Select(e => e.Type.ToWire()));
    }

    [Fact]
    public async Task A_node_that_throws_fails_the_run_instead_of_the_request()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync("""
            { "name": "div", "start": "s", "variables": { "d": 0 }, "nodes": [
              { "id": "s", "type": "set", "assign": { "x": "{{divide 1 d}}" }, "next": "e" }, { "id": "e", "type": "end" } ] }
            """);
        var outcome = await stack.TurnAsync(workflow, null);
        Assert.Equal(RunStatus.Failed, outcome.Run.Status);
        Assert.Contains("Node 's' (set) failed", outcome.Run.Error);
    }

    [Fact]
    public async Task Events_are_numbered_run_wide_without_gaps_and_kept_with_their_turns()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        await stack.TurnAsync(workflow, first.Run.Id, "oops").ContinueWith(_ => { });
        var second = await stack.TurnAsync(workflow, first.Run.Id, "3");

        var events = await stack.Runs.GetEventsAsync(TestStack.Tenant, first.Run.Id, 0, 1000, CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Seq));
        Assert.Equal(second.Run.LastSeq, events[^1].Seq);

        var turns = await stack.Runs.GetAllTurnsAsync(TestStack.Tenant, first.Run.Id, CancellationToken.None);
        Assert.Equal([1, 2], turns.Select(t => t.TurnNumber));
        Assert.Equal((first.Run.LastSeq + 1, second.Run.LastSeq), (turns[1].FirstSeq, turns[1].LastSeq));
        Assert.Equal("completed", turns[1].Output["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Another_tenant_cannot_see_or_drive_the_run()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var first = await stack.TurnAsync(workflow, null);
        var refused = await Assert.ThrowsAsync<DomainException>(() => stack.Turns.ExecuteAsync(
            new TurnRequest { TenantId = "tenant-b", WorkflowId = workflow, RunId = first.Run.Id, UserMessage = "3" }, CancellationToken.None));
        Assert.Equal(ProblemCodes.WorkflowNotFound, refused.Code);
        Assert.Null(await stack.Runs.GetAsync("tenant-b", first.Run.Id, CancellationToken.None));
        Assert.Empty(await stack.Runs.GetEventsAsync("tenant-b", first.Run.Id, 0, 100, CancellationToken.None));
    }

    [Fact]
    public async Task The_definition_cache_answers_only_the_owning_tenant()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counter);
        var cache = stack.Get<Workflows.DefinitionCache>();
        Assert.NotNull(await cache.GetAsync(TestStack.Tenant, workflow, 0, CancellationToken.None));
        Assert.Null(await cache.GetAsync("tenant-b", workflow, 0, CancellationToken.None));
    }

    private static async Task<string> Snapshot(TestStack stack, string runId)
    {
        var run = await stack.Runs.GetAsync(TestStack.Tenant, runId, CancellationToken.None);
        var events = await stack.Runs.GetEventsAsync(TestStack.Tenant, runId, 0, 10_000, CancellationToken.None);
        var turns = await stack.Runs.GetAllTurnsAsync(TestStack.Tenant, runId, CancellationToken.None);
        return System.Text.Json.JsonSerializer.Serialize(new { run, events = events.Count, turns = turns.Count }, DocumentJson.Options);
    }
}
