using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Validation;
using Sessions.Testing;

namespace Sessions.Runtime.Tests;

/// <summary>
/// The definition format's JSON Schema (docs/schemas) and the compiler describe one format: the samples validate, the
/// schema names exactly the server's node types, every field it declares is one the compiler reads, and what the
/// compiler refuses for its shape the schema refuses too. The compile helpers of the compiler's and the handlers' tests
/// hold every definition they use to the same agreement.
/// </summary>
public class DefinitionSchemaTests
{
    private static NodeHandlerRegistry Registry => TestCompiler.Registry;

    private static DefinitionCompiler Compiler => TestCompiler.Compiler;

    /// <summary>A node of each type with its required fields, the first of a workflow whose other node is `done`.</summary>
    private static readonly Dictionary<string, string> Minimal = new()
    {
        ["say"] = """{ "id": "n", "type": "say", "text": "hi", "next": "done" }""",
        ["ask"] = """{ "id": "n", "type": "ask", "prompt": "?", "variable": "x", "next": "done" }""",
        ["set"] = """{ "id": "n", "type": "set", "assign": { "x": 1 }, "next": "done" }""",
        ["branch"] = """{ "id": "n", "type": "branch", "cases": [ { "when": { "var": "x", "op": "exists" }, "next": "done" } ], "default": "done" }""",
        ["pause"] = """{ "id": "n", "type": "pause", "next": "done" }""",
        ["end"] = """{ "id": "n", "type": "end" }""",
        ["fail"] = """{ "id": "n", "type": "fail", "error": "no" }""",
        ["parallel"] = """{ "id": "n", "type": "parallel", "steps": [ { "id": "s", "type": "set", "assign": { "x": 1 } } ], "next": "done" }""",
        ["http_request"] = """{ "id": "n", "type": "http_request", "url": "http://127.0.0.1:9/x", "next": "done" }""",
        ["llm"] = """{ "id": "n", "type": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "m", "messages": [ { "role": "user", "content": "hi" } ], "next": "done" }""",
    };

    private static readonly Dictionary<string, string> MinimalStep = new()
    {
        ["set"] = """{ "id": "s", "type": "set", "assign": { "x": 1 } }""",
        ["http_request"] = """{ "id": "s", "type": "http_request", "url": "http://127.0.0.1:9/x" }""",
        ["llm"] = """{ "id": "s", "type": "llm", "mode": "worker", "variable": "x", "base_url": "http://127.0.0.1:9/v1", "model": "m", "messages": [ { "role": "user", "content": "hi" } ] }""",
    };

    /// <summary>Any JSON is a value of these fields (their strings are templates), so no value is the wrong type.</summary>
    private static readonly HashSet<string> TakesAnyJson = ["output", "body"];

    /// <summary>Not the compiler's: `$schema` is for editors, `workflow_id` for the sample loader, which removes it.</summary>
    private static readonly HashSet<string> NotCompiled = ["$schema", "workflow_id"];

    private static JsonObject Workflow(string node) =>
        JsonNode.Parse($$"""{ "name": "t", "start": "n", "nodes": [ {{node}}, { "id": "done", "type": "end" } ] }""")!.AsObject();

    private static DefinitionCompilation Compile(JsonNode definition) => TestCompiler.CompileAgreeing(definition);

    [Fact]
    public void Every_sample_names_the_schema_and_validates_and_compiles_without_a_warning()
    {
        var samples = Directory.GetFiles(Path.Combine(Repository.Root, "samples", "workflows"), "*.json");
        Assert.NotEmpty(samples);
        foreach (var file in samples)
        {
            var sample = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var named = sample["$schema"]?.GetValue<string>();
            Assert.True(named is not null, $"{file} names no \"$schema\"");
            Assert.Equal(Path.GetFullPath(WorkflowSchema.FilePath), Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, named)));
            Assert.Empty(WorkflowSchema.Problems(sample));

            sample.Remove("workflow_id");
            var result = Compile(sample);
            Assert.Empty(result.Errors);
            Assert.Empty(result.Warnings);
        }
    }

    [Fact]
    public void The_schema_describes_exactly_the_node_types_the_server_has()
    {
        var schema = JsonNode.Parse(File.ReadAllText(WorkflowSchema.FilePath))!;
        var enumerated = schema["$defs"]!["node_types"]!["enum"]!.AsArray().Select(t => t!.GetValue<string>()).Order();
        Assert.Equal(Registry.NodeTypes.Order(), enumerated);
        Assert.Equal(Registry.NodeTypes.Order(), Minimal.Keys.Order());
        Assert.All(Registry.NodeTypes, type => Assert.NotNull(DefinitionSchema.NodeFields(type)));
        Assert.Equal(["http_request", "llm", "set"], MinimalStep.Keys.Order());
        Assert.All(MinimalStep.Keys, type => Assert.NotNull(DefinitionSchema.StepFields(type)));
        Assert.Equal(File.ReadAllText(WorkflowSchema.FilePath), DefinitionSchema.Text);
    }

    [Fact]
    public void Each_minimal_node_and_step_is_valid_for_both()
    {
        foreach (var (type, node) in Minimal)
        {
            var result = Compile(Workflow(node));
            Assert.True(result.Errors.Count == 0, $"{type}: {string.Join("; ", result.Errors.Select(e => $"{e.Path} {e.Message}"))}");
        }

        foreach (var (type, step) in MinimalStep)
        {
            var result = Compile(Workflow($$"""{ "id": "n", "type": "parallel", "steps": [ {{step}} ], "next": "done" }"""));
            Assert.True(result.Errors.Count == 0, $"{type} step: {string.Join("; ", result.Errors.Select(e => $"{e.Path} {e.Message}"))}");
        }
    }

    /// <summary>
    /// A field the schema declares but the compiler never read would be one the schema invents. Each is set to a value
    /// no field takes (an array holding an array): the compiler must refuse it at that field, and the schema too.
    /// </summary>
    [Fact]
    public void Every_field_the_schema_declares_is_one_the_compiler_reads()
    {
        var misses = new List<string>();
        void Check(string what, JsonObject definition, string path)
        {
            var result = Compiler.Compile(definition);
            if (!result.Errors.Any(e => e.Path == path || e.Path.StartsWith(path + ".", StringComparison.Ordinal) || e.Path.StartsWith(path + "[", StringComparison.Ordinal)))
            {
                misses.Add($"{what}: the compiler does not refuse [[]] at {path} ({string.Join("; ", result.Errors.Select(e => $"{e.Path} {e.Code}"))})");
            }

            if (WorkflowSchema.Problems(definition).Count == 0)
            {
                misses.Add($"{what}: the schema takes [[]] at {path}");
            }
        }

        foreach (var (type, node) in Minimal)
        {
            foreach (var field in DefinitionSchema.NodeFields(type)!.Where(f => f is not ("id" or "type") && !TakesAnyJson.Contains(f)))
            {
                var definition = Workflow(node);
                definition["nodes"]![0]![field] = JsonNode.Parse("[[]]");
                Check($"{type}.{field}", definition, $"$.nodes[0].{field}");
            }
        }

        foreach (var (type, step) in MinimalStep)
        {
            foreach (var field in DefinitionSchema.StepFields(type)!.Where(f => f is not ("id" or "type") && !TakesAnyJson.Contains(f)))
            {
                var definition = Workflow($$"""{ "id": "n", "type": "parallel", "steps": [ {{step}} ], "next": "done" }""");
                definition["nodes"]![0]!["steps"]![0]![field] = JsonNode.Parse("[[]]");
                Check($"{type} step.{field}", definition, $"$.nodes[0].steps[0].{field}");
            }
        }

        foreach (var field in DefinitionSchema.TopLevelFields.Where(f => !NotCompiled.Contains(f) && f is not ("steps" or "max_concurrency")))
        {
            var definition = Workflow(Minimal["say"]);
            definition[field] = JsonNode.Parse("[[]]");
            Check($"top level {field}", definition, $"$.{field}");
        }

        foreach (var field in new[] { "steps", "max_concurrency" })
        {
            var definition = JsonNode.Parse("""{ "name": "dag", "steps": [ { "id": "a", "type": "set", "assign": { "x": 1 } } ] }""")!.AsObject();
            definition[field] = JsonNode.Parse("[[]]");
            Check($"DAG shape {field}", definition, $"$.{field}");
        }

        Assert.True(misses.Count == 0, string.Join("\n", misses));
    }

    [Theory]
    [InlineData("""{ "id": "n", "type": "teleport", "next": "done" }""", "unknown_node_type")]
    [InlineData("""{ "id": "n", "next": "done" }""", "missing_field")]
    [InlineData("""{ "id": "n 1", "type": "say", "text": "hi", "next": "done" }""", "invalid_node_id")]
    [InlineData("""{ "id": "n", "type": "say", "next": "done" }""", "missing_field")]
    [InlineData("""{ "id": "n", "type": "say", "text": 7, "next": "done" }""", "invalid_type")]
    [InlineData("""{ "id": "n", "type": "ask", "prompt": "?", "variable": "1x", "next": "done" }""", "invalid_variable")]
    [InlineData("""{ "id": "n", "type": "ask", "prompt": "?", "variable": "x", "input": { "kind": "colour" }, "next": "done" }""", "unknown_input_kind")]
    [InlineData("""{ "id": "n", "type": "ask", "prompt": "?", "variable": "x", "input": "text", "next": "done" }""", "invalid_input")]
    [InlineData("""{ "id": "n", "type": "branch", "cases": [ { "when": { "var": "x", "op": "like", "value": 1 }, "next": "done" } ], "default": "done" }""", "unknown_operator")]
    [InlineData("""{ "id": "n", "type": "branch", "cases": [ { "when": { "var": "x", "op": "eq" } } ], "default": "done" }""", "missing_field")]
    [InlineData("""{ "id": "n", "type": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "m", "messages": [ { "role": "robot", "content": "hi" } ], "next": "done" }""", "invalid_message")]
    [InlineData("""{ "id": "n", "type": "llm", "mode": "worker", "base_url": "http://127.0.0.1:9/v1", "model": "m", "messages": [ { "role": "user", "content": "hi" } ], "outputs": [ { "name": "x", "type": "date" } ], "next": "done" }""", "invalid_output")]
    [InlineData("""{ "id": "n", "type": "parallel", "steps": [ { "id": "s", "type": "ask", "prompt": "?", "variable": "x" } ], "next": "done" }""", "step_waits_for_people")]
    [InlineData("""{ "id": "n", "type": "parallel", "steps": [ { "id": "s", "type": "end" } ], "next": "done" }""", "invalid_step_type")]
    [InlineData("""{ "id": "n", "type": "parallel", "steps": [ { "id": "s-1", "type": "set", "assign": { "x": 1 } } ], "next": "done" }""", "invalid_step_id")]
    [InlineData("""{ "id": "n", "type": "parallel", "steps": [ { "id": "s", "type": "set", "assign": { "x": 1 }, "retries": { "max": 99 } } ], "next": "done" }""", "invalid_retries")]
    [InlineData("""{ "id": "n", "type": "say", "text": "hi", "next": "done", "self_loop": { "seconds_between_retries": 1 } }""", "missing_loop_bound")]
    [InlineData("""{ "id": "n", "type": "http_request", "url": "http://127.0.0.1:9/x", "response": { "eta": 3 }, "next": "done" }""", "invalid_mapping")]
    [InlineData("""{ "id": "n", "type": "http_request", "url": "http://127.0.0.1:9/x", "status_variable": "http status", "next": "done" }""", "invalid_variable")]
    public void What_the_compiler_refuses_for_its_shape_the_schema_refuses(string node, string code)
    {
        var definition = Workflow(node);
        var result = Compile(definition);
        Assert.Contains(code, result.Errors.Select(e => e.Code));
        Assert.Contains(code, WorkflowSchema.ShapeCodes);
        Assert.NotEmpty(WorkflowSchema.Problems(definition));
    }

    [Theory]
    [InlineData("""{ "max_diverged_percent": 101 }""")]
    [InlineData("""{ "max_diverged_percent": -1 }""")]
    [InlineData("""{ "max_diverged_percent": "10" }""")]
    [InlineData("""{ "max_diverged_percent": 10, "min_runs": 5 }""")]
    [InlineData("""{ }""")]
    [InlineData("""25""")]
    public void An_evaluation_gate_out_of_its_shape_is_refused_by_both(string gate)
    {
        var definition = Workflow(Minimal["say"]);
        definition["evaluation_gate"] = JsonNode.Parse(gate);
        Assert.Contains(Compile(definition).Errors, e => e.Path == "$.evaluation_gate" && e.Code == "invalid_value");
        Assert.NotEmpty(WorkflowSchema.Problems(definition));
    }

    [Fact]
    public void An_evaluation_gate_in_shape_is_taken_by_both_and_compiled()
    {
        var definition = Workflow(Minimal["say"]);
        definition["evaluation_gate"] = JsonNode.Parse("""{ "max_diverged_percent": 12.5 }""");
        Assert.Equal(12.5, Compile(definition).Definition!.MaxDivergedPercent);
        Assert.Empty(WorkflowSchema.Problems(definition));
        Assert.Null(Compile(Workflow(Minimal["say"])).Definition!.MaxDivergedPercent);
    }

    [Fact]
    public void A_misspelled_field_is_a_warning_that_names_it_and_the_fields_the_node_takes()
    {
        var definition = Workflow("""{ "id": "n", "type": "ask", "prompt": "?", "variable": "x", "timout_seconds": 30, "next": "done" }""");
        var result = Compile(definition);
        Assert.Empty(result.Errors);
        var warning = Assert.Single(result.Warnings, w => w.Code == "ignored_field");
        Assert.Equal("$.nodes[0].timout_seconds", warning.Path);
        Assert.Contains("\"timout_seconds\"", warning.Message);
        Assert.Contains("timeout_seconds", warning.Message.Split(':')[1]);
        Assert.Contains(WorkflowSchema.Problems(definition), p => p.StartsWith("/nodes/0", StringComparison.Ordinal));

        var top = Workflow(Minimal["say"]);
        top["varaibles"] = new JsonObject();
        Assert.Contains(Compile(top).Warnings, w => w is { Code: "ignored_field", Path: "$.varaibles" });

        var step = Workflow("""{ "id": "n", "type": "parallel", "steps": [ { "id": "s", "type": "set", "assign": { "x": 1 }, "depends": ["t"] } ], "next": "done" }""");
        Assert.Contains(Compile(step).Warnings, w => w is { Code: "ignored_field", Path: "$.nodes[0].steps[0].depends" });
    }

    /// <summary>
    /// Checks added this round refuse values that older servers ignored. A version stored before them is compiled again
    /// after a restart: it must still compile (the check warns) and run as it did, or its runs would stop.
    /// </summary>
    [Theory]
    [InlineData("""{ "id": "n", "type": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "m", "temperature": "0.2", "max_tokens": 0, "include_history": "yes", "wait_for_reply": 1, "messages": [ { "role": "user", "content": "hi" } ], "next": "done" }""", "$.nodes[0].temperature")]
    [InlineData("""{ "id": "n", "type": "llm", "mode": "worker", "llm_config": "default", "model": 5, "outputs": [ { "name": "x", "type": 7 } ], "messages": [ { "role": "user", "content": "hi" } ], "next": "done" }""", "$.nodes[0].outputs[0].type")]
    [InlineData("""{ "id": "n", "type": "http_request", "url": "http://127.0.0.1:9/x", "response": "eta", "status_variable": "http status", "next": "done" }""", "$.nodes[0].response")]
    public void A_version_stored_before_a_check_existed_still_compiles_with_a_warning(string node, string path)
    {
        var definition = Workflow(node);
        definition["description"] = 42;

        var uploaded = Compiler.Compile(definition);
        Assert.Contains(uploaded.Errors, e => e.Path == path);
        Assert.Contains(uploaded.Errors, e => e.Path == "$.description");

        var stored = Compiler.Compile(definition, stored: true);
        Assert.True(stored.Definition is not null, string.Join("; ", stored.Errors.Select(e => $"{e.Path} {e.Message}")));
        Assert.Contains(stored.Warnings, w => w.Path == path);
        Assert.Contains(stored.Warnings, w => w.Path == "$.description");
    }

    [Fact]
    public void An_unknown_type_is_named_in_its_refusal_cut_to_a_readable_length()
    {
        var longName = new string('x', 500);
        var result = Compile(Workflow($$"""{ "id": "n", "type": "{{longName}}", "next": "done" }"""));
        var problem = Assert.Single(result.Errors, e => e.Code == "unknown_node_type");
        Assert.Contains(longName[..20], problem.Message);
        Assert.DoesNotContain(longName, problem.Message);
        Assert.Contains("ask, branch, end", problem.Message);
    }
}
