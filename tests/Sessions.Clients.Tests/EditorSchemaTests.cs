using Xunit.Abstractions;

namespace Sessions.Clients.Tests;

/// <summary>
/// What VS Code shows for a definition that names the JSON Schema in "$schema": tests/clients/editor-schema.test.mjs
/// drives vscode-json-languageservice, the library VS Code's JSON support runs on, over the samples folder as the editor
/// would (completions of a node's fields and of node types, a field's description on hover, a misspelled field, a
/// missing one and an unknown operator marked, the samples clean). No server is needed: the editor reads the file.
/// </summary>
public sealed class EditorSchemaTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_editor_completes_and_checks_a_definition_from_its_schema()
    {
        var (exitCode, report) = await ClientPackages.RunNodeAsync(new Dictionary<string, string>(), TimeSpan.FromMinutes(2), "--test", "--test-reporter=spec", "editor-schema.test.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0 && report.Contains("ℹ pass 5", StringComparison.Ordinal) && report.Contains("ℹ fail 0", StringComparison.Ordinal), $"editor-schema.test.mjs failed (exit code {exitCode}):\n{report}");
    }
}
