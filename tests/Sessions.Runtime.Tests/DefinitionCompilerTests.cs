using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;

namespace Sessions.Runtime.Tests;

public class DefinitionCompilerTests
{
    private static DefinitionCompilation Compile(string json) => TestCompiler.CompileAgreeing(JsonNode.Parse(json));

    [Fact]
    public void A_valid_definition_compiles_with_its_limits_and_variables()
    {
        var result = Compile("""
            { "name": "ok", "start": "a", "variables": { "n": 1 }, "limits": { "max_node_executions_per_turn": 20 },
              "nodes": [ { "id": "a", "type": "say", "text": "hi", "next": "b" }, { "id": "b", "type": "end" } ] }
            """);
        Assert.Empty(result.Errors);
        Assert.Equal(20, result.Definition!.Limits.MaxNodeExecutionsPerTurn);
        Assert.Equal(10, result.Definition.Limits.MaxVisitsPerNodePerTurn);
        Assert.Equal(["b"], result.Definition.Nodes["a"].Successors);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"n":1}"""), result.Definition.NewVariables()));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_json_path()
    {
        var result = Compile("""
            { "start": "missing",
              "limits": { "max_visits_per_node_per_turn": 0 },
              "nodes": [
                { "id": "a", "type": "say", "text": "hi", "next": "nowhere" },
                { "id": "a", "type": "say", "text": "again", "next": "b" },
                { "id": "b", "type": "teleport" },
                { "id": "c", "type": "ask", "prompt": "?", "variable": "1x", "input": { "kind": "colour" }, "next": "d" },
                { "id": "d", "type": "branch", "cases": [ { "when": { "var": "x", "op": "eq" }, "next": "zzz" } ] },
                { "id": "e", "type": "say", "text": "{{#if open}}never closed", "next": "e2" },
                { "id": "e2", "type": "end" }
              ] }
            """);
        Assert.Null(result.Definition);
        var paths = result.Errors.Select(e => (e.Path, e.Code)).ToList();
        Assert.Contains(("$.name", "missing_field"), paths);
        Assert.Contains(("$.start", "unknown_start"), paths);
        Assert.Contains(("$.limits.max_visits_per_node_per_turn", "missing_loop_bound"), paths);
        Assert.Contains(("$.nodes[0].next", "dangling_next"), paths);
        Assert.Contains(("$.nodes[1].id", "duplicate_node_id"), paths);
        Assert.Contains(("$.nodes[2].type", "unknown_node_type"), paths);
        Assert.Contains(("$.nodes[3].variable", "invalid_variable"), paths);
        Assert.Contains(("$.nodes[3].input.kind", "unknown_input_kind"), paths);
        Assert.Contains(("$.nodes[4].cases[0].when.value", "missing_field"), paths);
        Assert.Contains(("$.nodes[4].cases[0].next", "dangling_next"), paths);
        Assert.Contains(("$.nodes[4].default", "missing_field"), paths);
        Assert.Contains(("$.nodes[5].text", "invalid_template"), paths);
    }

    [Fact]
    public void Unreachable_nodes_are_warnings_not_errors()
    {
        var result = Compile("""
            { "name": "w", "start": "a", "nodes": [
              { "id": "a", "type": "end" },
              { "id": "orphan", "type": "say", "text": "never", "next": "a" } ] }
            """);
        Assert.NotNull(result.Definition);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(("$.nodes[1]", "unreachable_node"), (warning.Path, warning.Code));
    }

    [Fact]
    public void A_loop_with_no_way_out_and_no_input_is_an_error()
    {
        var result = Compile("""
            { "name": "spin", "start": "a", "nodes": [
              { "id": "a", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "b" },
              { "id": "b", "type": "say", "text": "again", "next": "a" } ] }
            """);
        Assert.Null(result.Definition);
        var error = Assert.Single(result.Errors);
        Assert.Equal(("$.nodes[0]", "unbounded_loop"), (error.Path, error.Code));
        Assert.Contains("a -> b", error.Message);
    }

    [Fact]
    public void A_loop_with_an_exit_but_no_input_is_a_warning_and_a_loop_through_an_ask_is_fine()
    {
        var retry = Compile("""
            { "name": "retry", "start": "a", "nodes": [
              { "id": "a", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "b" },
              { "id": "b", "type": "branch", "cases": [ { "when": { "var": "n", "op": "gte", "value": 3 }, "next": "done" } ], "default": "a" },
              { "id": "done", "type": "end" } ] }
            """);
        Assert.NotNull(retry.Definition);
        Assert.Equal("loop_without_input", Assert.Single(retry.Warnings).Code);

        var conversation = Compile("""
            { "name": "chat", "start": "q", "nodes": [
              { "id": "q", "type": "ask", "prompt": "again?", "variable": "x", "next": "q" } ] }
            """);
        Assert.NotNull(conversation.Definition);
        Assert.Empty(conversation.Warnings);
    }

    [Theory]
    [InlineData("[]", "$")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [] }""", "$.nodes")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ 5 ] }""", "$.nodes[0]")]
    [InlineData("""{ "name": "x", "start": "a", "variables": [], "nodes": [ { "id": "a", "type": "end" } ] }""", "$.variables")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "say", "next": "a" } ] }""", "$.nodes[0].text")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "say", "text": "t" } ] }""", "$.nodes[0].next")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "input": { "kind": "choice" }, "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].input.options")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "set", "assign": {}, "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].assign")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "fail" } ] }""", "$.nodes[0].error")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a b", "type": "end" } ] }""", "$.nodes[0].id")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "timeout_seconds": 5, "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].on_timeout")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "on_timeout": "b", "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].timeout_seconds")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "timeout_seconds": 5, "on_timeout": "nowhere", "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].on_timeout")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "timeout_seconds": 0, "on_timeout": "b", "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].timeout_seconds")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "timeout_seconds": "5", "on_timeout": "b", "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].timeout_seconds")]
    [InlineData("""{ "name": "x", "start": "a", "nodes": [ { "id": "a", "type": "pause", "resume_after_seconds": 2592001, "next": "b" }, { "id": "b", "type": "end" } ] }""", "$.nodes[0].resume_after_seconds")]
    public void Shape_errors_are_reported_at_their_path(string json, string path)
    {
        var result = Compile(json);
        Assert.Null(result.Definition);
        Assert.Contains(result.Errors, e => e.Path == path);
    }

    [Fact]
    public void A_node_reached_only_by_a_timeout_is_reachable_and_timers_compile()
    {
        var result = Compile("""
            { "name": "x", "start": "a", "nodes": [
              { "id": "a", "type": "ask", "prompt": "p", "variable": "v", "timeout_seconds": 0.5, "on_timeout": "late", "next": "done" },
              { "id": "late", "type": "pause", "resume_after_seconds": 2592000, "next": "a" },
              { "id": "done", "type": "end" } ] }
            """);
        Assert.NotNull(result.Definition);
        Assert.Empty(result.Warnings);
        Assert.Contains("late", result.Definition!.Nodes["a"].Successors);
    }

    [Fact]
    public void A_node_of_an_unknown_type_is_named_once_and_its_next_is_still_checked()
    {
        var result = Compile("""
            { "name": "x", "start": "a",
              "nodes": [
                { "id": "a", "type": "teleport", "next": "nowhere" },
                { "id": "b", "type": "teleport", "next": "c" },
                { "id": "c", "type": "end" },
                { "id": "c", "type": "warp" },
                { "id": "d d", "type": "say", "text": "hi", "next": "gone" } ] }
            """);
        Assert.Null(result.Definition);
        Assert.Equal(
            [
                ("$.nodes[0].type", "unknown_node_type"),
                ("$.nodes[1].type", "unknown_node_type"),
                ("$.nodes[3].id", "duplicate_node_id"),
                ("$.nodes[3].type", "unknown_node_type"),
                ("$.nodes[4].id", "invalid_node_id"),
                ("$.nodes[0].next", "dangling_next"),
                ("$.nodes[4].next", "dangling_next"),
            ],
            result.Errors.Select(e => (e.Path, e.Code)));

        // "a" exists, whatever its type: no false unknown_start; "b" and "c" are only reached through nodes of
        // unknown type, which still count as edges: no false unreachable warnings about them beyond "b" itself.
        Assert.Equal([("$.nodes[1]", "unreachable_node"), ("$.nodes[2]", "unreachable_node")], result.Warnings.Select(w => (w.Path, w.Code)));
    }
}
