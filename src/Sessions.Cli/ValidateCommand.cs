using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Nodes;
using Sessions.Runtime;
using Sessions.Runtime.Definitions;

namespace Sessions.Cli;

/// <summary>
/// `sessions validate`: compiles a definition with the server's own compiler and node handlers, offline, and prints
/// every problem with its JSON path (errors, then warnings). Exits 1 when it has errors, 2 when it is no JSON.
/// </summary>
internal static class ValidateCommand
{
    public static int Run(FileInfo file, TextWriter output)
    {
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(file.FullName));
        }
        catch (Exception unreadable) when (unreadable is JsonException or IOException)
        {
            output.WriteLine($"{file.Name}: not a JSON definition: {unreadable.Message}");
            return 2;
        }

        var services = new ServiceCollection().AddLogging().AddSessionsRuntime().AddSessionsNodes().BuildServiceProvider();
        var compiled = services.GetRequiredService<DefinitionCompiler>().Compile(json);
        foreach (var error in compiled.Errors)
        {
            output.WriteLine($"error   {error.Path}: {error.Message} ({error.Code})");
        }

        foreach (var warning in compiled.Warnings)
        {
            output.WriteLine($"warning {warning.Path}: {warning.Message} ({warning.Code})");
        }

        output.WriteLine(compiled.Errors.Count == 0
            ? $"{file.Name}: valid ({compiled.Warnings.Count} warning(s))"
            : $"{file.Name}: {compiled.Errors.Count} error(s), {compiled.Warnings.Count} warning(s)");
        return compiled.Errors.Count == 0 ? 0 : 1;
    }
}
