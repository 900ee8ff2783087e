using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Sessions.Runtime.Values;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Workflows;

/// <summary>
/// Compiled definitions per (workflow, version). Versions are immutable, so an entry never goes stale, and a turn
/// never parses definition JSON: only the first turn after a start (or an upload) compiles it.
/// </summary>
public sealed class DefinitionCache(IWorkflowStore workflows, DefinitionCompiler compiler)
{
    // Keyed by tenant too, so that a hit can never hand one tenant's definition to another.
    private readonly ConcurrentDictionary<(string TenantId, string WorkflowId, int Version), WorkflowDefinition> compiled = new();

    public void Put(string tenantId, string workflowId, int versionNumber, WorkflowDefinition definition) =>
        compiled[(tenantId, workflowId, versionNumber)] = definition;

    /// <summary>The compiled version, or null when the tenant has no such version.</summary>
    public async Task<WorkflowDefinition?> GetAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken)
    {
        if (compiled.TryGetValue((tenantId, workflowId, versionNumber), out var definition))
        {
            return definition;
        }

        var version = await workflows.GetVersionAsync(tenantId, workflowId, versionNumber, cancellationToken);
        if (version is null)
        {
            return null;
        }

        var compilation = compiler.Compile(JsonText.ParseStored(version.DefinitionJson), stored: true);
        definition = compilation.Definition ?? throw new InvalidOperationException(
            $"Stored version {versionNumber} of workflow {workflowId} no longer compiles: {string.Join("; ", compilation.Errors.Select(e => $"{e.Path}: {e.Message}"))}");
        return compiled.GetOrAdd((tenantId, workflowId, versionNumber), definition);
    }

    public async Task<WorkflowDefinition> GetRequiredAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken) =>
        await GetAsync(tenantId, workflowId, versionNumber, cancellationToken)
        ?? throw ProblemCodes.NotFound(ProblemCodes.VersionNotFound, "Workflow version", $"{versionNumber} of {workflowId}").With("version_number", versionNumber);
}
