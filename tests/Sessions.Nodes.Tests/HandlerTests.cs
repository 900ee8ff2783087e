using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Sessions.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;

namespace Sessions.Nodes.Tests;

public class HandlerTests
{
    private static readonly NodeHandlerRegistry Registry = new ServiceCollection()
        .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>))
        .AddSessionsNodes()
        .AddSingleton<NodeHandlerRegistry>()
        .BuildServiceProvider().GetRequiredService<NodeHandlerRegistry>();

    private static readonly DefinitionCompiler Compiler = new(Registry, new TemplateEngine());

    private static CompiledNode Node(string nodesJson, string id)
    {
        var definition = JsonNode.Parse($$"""{ "name": "t", "start": "{{id}}", "nodes": {{nodesJson}} }""");
        var result = Compiler.Compile(definition);
        WorkflowSchema.AgreesWithCompiler(definition, result.Errors.Select(e => e.Code), result.Warnings.Select(w => w.Code));
        Assert.True(result.Definition is not null, string.Join("; ", result.Errors.Select(e => $"{e.Path} {e.Message}")));
        return result.Definition.Nodes[id];
    }

    private static Task<NodeResult> Run(CompiledNode node, string variables) =>
        node.Handler.ExecuteAsync(new NodeContext(node, JsonNode.Parse(variables)!.AsObject(), 1, DateTimeOffset.UnixEpoch), CancellationToken.None).AsTask();

    [Fact]
    public void One_scan_finds_every_core_node_type()
    {
        Assert.Equal(["ask", "branch", "end", "fail", "http_request", "llm", "parallel", "pause", "say", "set"], Registry.NodeTypes.Order());
    }

    [Fact]
    public async Task Every_scanned_handler_is_timed_by_the_decorator()
    {
        Assert.True(Registry.TryGet("say", out var say));
        Assert.IsType<InstrumentedNodeHandler>(say);

        var measured = new List<(double Ms, string Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == InstrumentedNodeHandler.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, ms, tags, _) =>
        {
            lock (measured)
            {
                measured.Add((ms, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
            }
        });
        listener.Start();

        var node = Node("""[ { "id": "q", "type": "ask", "prompt": "?", "variable": "v", "input": { "kind": "boolean" }, "next": "e" }, { "id": "e", "type": "end" } ]""", "q");
        await Run(node, "{}");
        node.Handler.AcceptReply(new NodeContext(node, [], 2, DateTimeOffset.UnixEpoch), "maybe");

        lock (measured)
        {
            Assert.Contains(measured, m => m.Tags == "node_type=ask,phase=execute,outcome=AwaitInput" && m.Ms >= 0);
            Assert.Contains(measured, m => m.Tags == "node_type=ask,phase=reply,outcome=RejectReply");
        }
    }

    [Fact]
    public void Nodes_that_call_a_model_or_a_service_say_they_reach_outside_and_nodes_that_work_in_memory_say_they_do_not()
    {
        // What decides whether a turn on a shared store must lease its run before the node runs.
        var nodes = """
            [ { "id": "ask", "type": "ask", "prompt": "?", "variable": "v", "next": "say" },
              { "id": "say", "type": "say", "text": "hi {{v}}", "next": "set" },
              { "id": "set", "type": "set", "assign": { "w": "{{v}}" }, "next": "when" },
              { "id": "when", "type": "branch", "cases": [ { "when": { "var": "v", "op": "eq", "value": "a" }, "next": "pause" } ], "default": "model" },
              { "id": "model", "type": "branch", "cases": [ { "llm_condition": { "question": "Yes?", "base_url": "http://127.0.0.1:9/v1", "model": "m" }, "next": "pause" } ], "default": "call" },
              { "id": "pause", "type": "pause", "next": "call" },
              { "id": "call", "type": "http_request", "url": "http://127.0.0.1:9/x", "next": "chat" },
              { "id": "chat", "type": "llm", "mode": "say", "base_url": "http://127.0.0.1:9/v1", "model": "m", "messages": [ { "role": "user", "content": "hi" } ], "next": "sets" },
              { "id": "sets", "type": "parallel", "next": "calls", "steps": [ { "id": "a", "type": "set", "assign": { "x": "1" } } ] },
              { "id": "calls", "type": "parallel", "next": "end", "steps": [
                { "id": "b", "type": "set", "assign": { "x": "1" } },
                { "id": "c", "type": "http_request", "url": "http://127.0.0.1:9/y" } ] },
              { "id": "end", "type": "end" },
              { "id": "fail", "type": "fail", "error": "no" } ]
            """;
        var reaching = new[] { "ask", "say", "set", "when", "model", "pause", "call", "chat", "sets", "calls", "end", "fail" }
            .Where(id => Node(nodes, id) is var node && node.Handler.ReachesOutside(node.Config));
        Assert.Equal(["model", "call", "chat", "calls"], reaching);
    }

    [Fact]
    public void Two_handlers_for_one_type_fail_at_startup()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new NodeHandlerRegistry([new SayHandler(), new AskHandler(), new SayHandler()]));
        Assert.Contains("'say'", error.Message);
    }

    [Fact]
    public async Task Say_emits_its_rendered_text()
    {
        var result = await Run(Node("""[ { "id": "s", "type": "say", "text": "Hi {{name}}", "next": "e" }, { "id": "e", "type": "end" } ]""", "s"), """{"name":"Ada"}""");
        Assert.Equal(NodeOutcome.Continue, result.Outcome);
        Assert.Equal("e", result.NextNodeId);
        var said = Assert.Single(result.Events);
        Assert.Equal("Hi Ada", Assert.IsType<Said>(said).Text);
    }

    [Fact]
    public async Task Ask_waits_with_its_hint_then_takes_a_typed_reply()
    {
        var node = Node("""[ { "id": "q", "type": "ask", "prompt": "Age, {{name}}?", "variable": "age", "input": { "kind": "integer", "min": 0 }, "next": "e" }, { "id": "e", "type": "end" } ]""", "q");
        var waiting = await Run(node, """{"name":"Ada"}""");
        Assert.Equal(NodeOutcome.AwaitInput, waiting.Outcome);
        Assert.Equal("""{"node_id":"q","prompt":"Age, Ada?","input":{"kind":"integer","min":0}}""", waiting.Hint!.ToJson().ToJsonString());

        var replies = node.Handler;
        var context = new NodeContext(node, [], 2, DateTimeOffset.UnixEpoch);
        var accepted = replies.AcceptReply(context, "36");
        Assert.Equal("36", accepted.Assignments["age"]!.ToJsonString());
        Assert.Equal("e", accepted.NextNodeId);
        Assert.Equal(NodeOutcome.RejectReply, replies.AcceptReply(context, "-1").Outcome);
    }

    [Fact]
    public async Task Set_assigns_typed_values_and_shows_the_state_after()
    {
        var node = Node("""[ { "id": "s", "type": "set", "assign": { "n": "{{add n 1}}", "label": "n is {{n}}", "tags": ["a"], "copy": "{{profile}}" }, "next": "e" }, { "id": "e", "type": "end" } ]""", "s");
        var result = await Run(node, """{"n":1,"profile":{"tier":"gold"}}""");
        Assert.Equal("2", result.Assignments["n"]!.ToJsonString());
        Assert.Equal("\"n is 1\"", result.Assignments["label"]!.ToJsonString());
        Assert.Equal("[\"a\"]", result.Assignments["tags"]!.ToJsonString());
        Assert.Equal("{\"tier\":\"gold\"}", result.Assignments["copy"]!.ToJsonString());
        var shown = Assert.Single(result.Events);
        Assert.Equal(2, Assert.IsType<StateShown>(shown).Variables["n"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("""{"n":7}""", "big", 0)]
    [InlineData("""{"n":3}""", "mid", 1)]
    [InlineData("""{"n":0}""", "small", -1)]
    public async Task Branch_takes_the_first_matching_case_or_the_default(string variables, string next, int caseIndex)
    {
        var node = Node("""
            [ { "id": "b", "type": "branch", "cases": [
                { "when": { "var": "n", "op": "gt", "value": 5 }, "next": "big" },
                { "when": { "var": "n", "op": "gt", "value": 1 }, "next": "mid" } ], "default": "small" },
              { "id": "big", "type": "end" }, { "id": "mid", "type": "end" }, { "id": "small", "type": "end" } ]
            """, "b");
        var result = await Run(node, variables);
        Assert.Equal(next, result.NextNodeId);
        Assert.Equal(caseIndex < 0 ? "{\"default\":true}" : $"{caseIndex}", caseIndex < 0 ? result.MatchedCase!.ToJsonString() : result.MatchedCase!["index"]!.ToJsonString());
    }

    [Fact]
    public async Task End_evaluates_its_output_template_and_fail_its_error()
    {
        var end = Node("""[ { "id": "e", "type": "end", "output": { "total": "{{multiply qty 2}}", "who": "{{name}}", "fixed": 1 } } ]""", "e");
        var done = await Run(end, """{"qty":3,"name":"Ada"}""");
        Assert.Equal("""{"total":6,"who":"Ada","fixed":1}""", done.Output!.ToJsonString());

        var fail = Node("""[ { "id": "f", "type": "fail", "error": "No order {{id}}" } ]""", "f");
        Assert.Equal("No order 7", (await Run(fail, """{"id":7}""")).Error);
    }

    [Fact]
    public async Task Pause_stops_the_turn_and_continues_at_next()
    {
        var result = await Run(Node("""[ { "id": "p", "type": "pause", "next": "e" }, { "id": "e", "type": "end" } ]""", "p"), "{}");
        Assert.Equal((NodeOutcome.Pause, "e"), (result.Outcome, result.NextNodeId));
    }
}
