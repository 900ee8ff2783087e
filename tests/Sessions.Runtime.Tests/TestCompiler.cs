using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sessions.Nodes;
using Sessions.Nodes.Llm;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Templates;
using Sessions.Testing;

namespace Sessions.Runtime.Tests;

/// <summary>The server's compiler with every node handler, as the tests of definitions use it.</summary>
internal static class TestCompiler
{
    public static NodeHandlerRegistry Registry { get; } = new ServiceCollection()
        .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>))
        .AddSessionsNodes()
        .Configure<LlmOptions>(o =>
        {
            // The configurations the order assistant sample names, as the configuration reference gives them.
            o.Configs["default"] = new LlmConfig { BaseUrl = "http://127.0.0.1:8089/v1", Model = "gpt-4o-mini" };
            o.Configs["cheap"] = new LlmConfig { BaseUrl = "http://127.0.0.1:8089/v1", Model = "gpt-4o-mini" };
        })
        .AddSingleton<NodeHandlerRegistry>()
        .BuildServiceProvider().GetRequiredService<NodeHandlerRegistry>();

    public static DefinitionCompiler Compiler { get; } = new(Registry, new TemplateEngine());

    /// <summary>Compiles, and holds the definition format's JSON Schema to the verdict: every definition compiled so checks both.</summary>
    public static DefinitionCompilation CompileAgreeing(JsonNode? definition)
    {
        var result = Compiler.Compile(definition);
        WorkflowSchema.AgreesWithCompiler(definition, result.Errors.Select(e => e.Code), result.Warnings.Select(w => w.Code));
        return result;
    }
}
