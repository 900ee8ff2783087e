using System.Text.Json.Nodes;
using Sessions.Runtime.Values;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Workflows;

public sealed record WorkflowCreated(WorkflowDocument Workflow, IReadOnlyList<DefinitionProblem> Warnings);

public sealed record VersionAdded(WorkflowDocument Workflow, int VersionNumber, IReadOnlyList<DefinitionProblem> Warnings);

/// <summary>Uploads, versions and reads workflow definitions. Nothing invalid is ever stored.</summary>
public sealed class WorkflowService(IWorkflowStore store, DefinitionCompiler compiler, DefinitionCache cache, IActivationGate gate, TimeProvider clock)
{
    public Task<WorkflowCreated> CreateAsync(string tenantId, JsonNode? definition, CancellationToken cancellationToken) =>
        CreateAsync(tenantId, ObjectId.NewId(clock.GetUtcNow()).ToString(), definition, cancellationToken);

    /// <summary>Creates a workflow under a chosen id (the samples have stable ids); a taken id is a conflict.</summary>
    public async Task<WorkflowCreated> CreateAsync(string tenantId, string workflowId, JsonNode? definition, CancellationToken cancellationToken)
    {
        var compiled = CompileOrThrow(definition);
        var now = clock.GetUtcNow();
        var workflow = new WorkflowDocument(workflowId, tenantId, compiled.Definition!.Name, compiled.Definition.Description, 0, 0, now, now);
        var version = new WorkflowVersionDocument(workflowId, tenantId, 0, workflow.Name, JsonText.Serialize(definition!), now);
        if (!await store.CreateAsync(workflow, version, cancellationToken))
        {
            throw new DomainException(ErrorKind.Conflict, ProblemCodes.WorkflowExists, "Workflow exists", $"A workflow with id {workflowId} already exists.");
        }

        cache.Put(tenantId, workflowId, 0, compiled.Definition);
        return new WorkflowCreated(workflow, compiled.Warnings);
    }

    public async Task<VersionAdded> AddVersionAsync(string tenantId, string workflowId, JsonNode? definition, bool activate, CancellationToken cancellationToken)
    {
        var current = await GetAsync(tenantId, workflowId, cancellationToken);
        var compiled = CompileOrThrow(definition);

        // A new version has no evaluation yet: behind a gate it is uploaded inactive, evaluated, then activated.
        if (activate && await gate.RefusalAsync(current, current.LatestVersion + 1, cancellationToken) is { } refused)
        {
            throw refused.With("hint", "Upload it with activate=false, evaluate it, then activate it.");
        }

        var version = new NewWorkflowVersion(compiled.Definition!.Name, compiled.Definition.Description, JsonText.Serialize(definition!), clock.GetUtcNow());
        var workflow = await store.AddVersionAsync(tenantId, workflowId, version, activate, cancellationToken)
            ?? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId);
        cache.Put(tenantId, workflowId, workflow.LatestVersion, compiled.Definition);
        return new VersionAdded(workflow, workflow.LatestVersion, compiled.Warnings);
    }

    /// <summary>The workflow; a deleted one only when <paramref name="includeDeleted"/> (an admin who asked), else a 404.</summary>
    public async Task<WorkflowDocument> GetAsync(string tenantId, string workflowId, CancellationToken cancellationToken, bool includeDeleted = false) =>
        await store.GetAsync(tenantId, workflowId, cancellationToken) is { } workflow && (workflow.DeletedAt is null || includeDeleted)
            ? workflow
            : throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId);

    /// <summary>Whether the id is taken, by a deleted workflow too (so that a deleted sample is not uploaded again).</summary>
    public async Task<bool> ExistsAsync(string tenantId, string workflowId, CancellationToken cancellationToken) =>
        await store.GetAsync(tenantId, workflowId, cancellationToken) is not null;

    public Task<Page<WorkflowDocument>> ListAsync(string tenantId, WorkflowQuery query, CancellationToken cancellationToken) =>
        store.ListAsync(tenantId, query, cancellationToken);

    /// <summary>
    /// Deletes the workflow: it leaves lists and reads and starts no new runs; its versions stay, and its runs stay
    /// readable and go on to their end. A deleted workflow is a 404, as one that never was.
    /// </summary>
    public async Task<WorkflowDocument> DeleteAsync(string tenantId, string workflowId, CancellationToken cancellationToken)
    {
        await GetAsync(tenantId, workflowId, cancellationToken);
        return await store.DeleteAsync(tenantId, workflowId, clock.GetUtcNow(), cancellationToken)
            ?? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId);
    }

    public Task<IReadOnlyList<WorkflowVersionDocument>> ListVersionsAsync(string tenantId, string workflowId, CancellationToken cancellationToken) =>
        store.ListVersionsAsync(tenantId, workflowId, cancellationToken);

    public async Task<WorkflowVersionDocument> GetVersionAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken, bool includeDeleted = false)
    {
        await GetAsync(tenantId, workflowId, cancellationToken, includeDeleted);
        return await store.GetVersionAsync(tenantId, workflowId, versionNumber, cancellationToken)
            ?? throw ProblemCodes.NotFound(ProblemCodes.VersionNotFound, "Workflow version", $"{versionNumber} of {workflowId}").With("version_number", versionNumber);
    }

    /// <summary>Makes a stored version the active one: new runs use it, and the workflow takes its name and description.</summary>
    /// <remarks>
    /// The active version's evaluation gate is asked first; <paramref name="forcedBy"/> (an admin's principal) activates
    /// past its refusal, and the workflow keeps who did, when, and what the gate said.
    /// </remarks>
    public async Task<WorkflowDocument> ActivateAsync(string tenantId, string workflowId, int versionNumber, CancellationToken cancellationToken, string? forcedBy = null)
    {
        var workflow = await GetAsync(tenantId, workflowId, cancellationToken);
        var version = await GetVersionAsync(tenantId, workflowId, versionNumber, cancellationToken);
        var refused = await gate.RefusalAsync(workflow, versionNumber, cancellationToken);
        if (refused is not null && forcedBy is null)
        {
            throw refused;
        }

        var forced = refused is null ? null : new ForcedActivation(versionNumber, forcedBy!, clock.GetUtcNow(), refused.Message);
        return await store.ActivateAsync(tenantId, workflowId, version, clock.GetUtcNow(), cancellationToken, forced)
            ?? throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", workflowId);
    }

    /// <summary>Every problem an upload of <paramref name="definition"/> would report, without storing anything.</summary>
    public DefinitionCompilation Check(JsonNode? definition) => compiler.Compile(definition);

    private DefinitionCompilation CompileOrThrow(JsonNode? definition)
    {
        var compiled = compiler.Compile(definition);
        if (compiled.Definition is null)
        {
            throw new DomainException(
                    ErrorKind.Unprocessable,
                    ProblemCodes.InvalidDefinition,
                    "Invalid workflow definition",
                    $"The definition has {compiled.Errors.Count} problem(s); each is listed in errors with its JSON path.")
                .With("errors", compiled.Errors)
                .With("warnings", compiled.Warnings);
        }

        return compiled;
    }
}
