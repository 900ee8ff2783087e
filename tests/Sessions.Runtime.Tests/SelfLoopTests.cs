using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Testing;

namespace Sessions.Runtime.Tests;

public class SelfLoopTests
{
    private static string Counting(string selfLoop) => $$$"""
        { "name": "count", "start": "bump", "variables": { "n": 0 },
          "nodes": [
            { "id": "bump", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "done", "self_loop": {{{selfLoop}}} },
            { "id": "done", "type": "end", "output": "{{n}}" } ] }
        """;

    [Fact]
    public async Task A_node_repeats_while_its_condition_holds_and_a_bounded_loop_never_trips_the_guard()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counting("""{ "max_retries": 50, "while": { "var": "n", "op": "lt", "value": 30 } }"""));
        var outcome = await stack.TurnAsync(workflow, null);

        Assert.Equal(RunStatus.Completed, outcome.Run.Status);
        Assert.Equal("30", outcome.Run.Output!.ToJsonString());
        var edges = outcome.Events.Where(e => e.Type.ToWire() == "self_loop_edge").ToList();
        Assert.Equal(29, edges.Count);
        Assert.Equal(Enumerable.Range(2, 29), edges.Select(e => ((SelfLoopRepeated)e.Payload).Attempt));
        Assert.DoesNotContain(outcome.Events, e => e.Type.ToWire() is "self_loop_exhausted" or "aborted_looping_risk");
        Assert.Equal(1, outcome.Events.Count(e => e.Type.ToWire() == "start_node_run" && e.NodeId == "bump"));
    }

    [Fact]
    public async Task Max_retries_ends_the_loop_and_the_node_continues()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counting("""{ "max_retries": 3, "while": { "var": "n", "op": "gte", "value": 0 } }"""));
        var outcome = await stack.TurnAsync(workflow, null);

        Assert.Equal(RunStatus.Completed, outcome.Run.Status);
        Assert.Equal("4", outcome.Run.Output!.ToJsonString());
        var exhausted = Assert.Single(outcome.Events, e => e.Type.ToWire() == "self_loop_exhausted");
        Assert.Equal("""{"attempts":4,"reason":"max_retries"}""", EventCatalogue.FieldsObject(exhausted.Payload).ToJsonString());
    }

    [Fact]
    public async Task Expiry_ends_the_loop_counting_the_wait_between_attempts()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync(Counting("""{ "expiry_seconds": 0.2, "seconds_between_retries": 0.05, "while": { "var": "n", "op": "gte", "value": 0 } }"""));
        var outcome = await stack.TurnAsync(workflow, null);

        var exhausted = Assert.Single(outcome.Events, e => e.Type.ToWire() == "self_loop_exhausted");
        var (attempts, reason) = Assert.IsType<SelfLoopExhausted>(exhausted.Payload);
        Assert.Equal("expired", reason);
        Assert.InRange(attempts, 2, 4);
        Assert.Equal(attempts.ToString(), outcome.Run.Output!.ToJsonString());
    }

    [Fact]
    public async Task A_failing_node_is_retried_and_fails_the_run_once_its_retries_are_spent()
    {
        await using var stack = await TestStack.StartAsync();
        var workflow = await stack.UploadAsync("""
            { "name": "flaky", "start": "f", "nodes": [ { "id": "f", "type": "fail", "error": "still down", "self_loop": { "max_retries": 2 } } ] }
            """);
        var outcome = await stack.TurnAsync(workflow, null);

        Assert.Equal(RunStatus.Failed, outcome.Run.Status);
        var repeats = outcome.Events.Select(e => e.Payload).OfType<SelfLoopRepeated>().ToList();
        Assert.Equal(["failed", "failed"], repeats.Select(r => r.Reason));
        Assert.Equal(["still down", "still down"], repeats.Select(r => r.Error));
        Assert.Single(outcome.Events, e => e.Type.ToWire() == "error");
    }

    [Theory]
    [InlineData("""{ "seconds_between_retries": 1 }""", "$.nodes[0].self_loop", "missing_loop_bound")]
    [InlineData("""{ "max_retries": -1 }""", "$.nodes[0].self_loop.max_retries", "invalid_value")]
    [InlineData("""{ "max_retries": 2.5 }""", "$.nodes[0].self_loop.max_retries", "invalid_value")]
    [InlineData("""{ "expiry_seconds": 5, "while": { "var": "n", "op": "near" } }""", "$.nodes[0].self_loop.while.op", "unknown_operator")]
    [InlineData("""true""", "$.nodes[0].self_loop", "invalid_type")]
    public async Task A_self_loop_without_a_bound_or_with_bad_fields_is_refused_at_upload(string selfLoop, string path, string code)
    {
        await using var stack = await TestStack.StartAsync();
        var refused = await Assert.ThrowsAsync<DomainException>(() => stack.UploadAsync(Counting(selfLoop)));
        Assert.Equal(ProblemCodes.InvalidDefinition, refused.Code);
        var errors = (IReadOnlyList<Validation.DefinitionProblem>)refused.Extensions["errors"]!;
        Assert.Contains(errors, e => e.Path == path && e.Code == code);
    }
}
