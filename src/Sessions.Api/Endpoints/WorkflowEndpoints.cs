using System.Text;
using Sessions.Api.Diagrams;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Values;
using Sessions.Api.Security;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Http;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;
using Sessions.Runtime.Validation;

namespace Sessions.Api.Endpoints;

public static class WorkflowEndpoints
{
    public static RouteGroupBuilder MapWorkflows(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/workflows").WithTags("Workflows");

        group.MapPost("/", CreateWorkflow)
            .WithName("CreateWorkflow")
            .WithSummary("Upload a definition as a new workflow (its version 0)")
            .Accepts<WorkflowDefinitionContract>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/validate", ValidateDefinition)
            .WithName("ValidateWorkflowDefinition")
            .WithSummary("Check a definition as an upload would, storing nothing: every error and warning with its JSON path")
            .WithDescription("200 whether or not the definition is valid: valid is false when errors is not empty. The console checks a definition this way before it uploads it.")
            .Accepts<WorkflowDefinitionContract>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge);

        group.MapGet("/", ListWorkflows)
            .WithName("ListWorkflows")
            .WithSummary("List the tenant's workflows, newest first; q filters by name, include_deleted=true (admin) shows deleted ones")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden);

        group.MapGet("/{workflow_id}", GetWorkflow)
            .WithName("GetWorkflow")
            .WithSummary("A workflow with its versions (a deleted one only for an admin with include_deleted=true)")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);

        group.MapDelete("/{workflow_id}", DeleteWorkflow)
            .WithName("DeleteWorkflow")
            .WithSummary("Delete a workflow: hidden from lists and reads, it starts no new runs; its runs stay readable and go on")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/{workflow_id}/versions", AddVersion)
            .WithName("AddWorkflowVersion")
            .WithSummary("Upload version n+1; it becomes active unless activate=false")
            .Accepts<WorkflowDefinitionContract>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Editor);

        group.MapPost("/{workflow_id}/versions/{version_number}/activate", ActivateVersion)
            .WithName("ActivateWorkflowVersion")
            .WithSummary("Make a stored version the active one (roll back, or activate a version uploaded with activate=false)")
            .WithDescription("New runs use it from now on; runs already started keep the version they pinned. The workflow takes the version's name and description. While the active version has an evaluation_gate, the version needs a finished evaluation within it (else 409 evaluation_required); force=true (admins) activates anyway, and the workflow keeps that in forced_activations.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Editor);

        group.MapGet("/{workflow_id}/versions/{version_number}/diagram", GetDiagram)
            .WithName("GetWorkflowVersionDiagram")
            .WithSummary("The version's graph as a Mermaid flowchart (text/plain), or drawn as SVG with ?format=svg")
            .WithDescription("Nodes by type (ask, branch, end, fail, pause, calls), edges labelled with their conditions (a branch case's when, default, timeout, self_loop). format is mermaid (default) or svg; the SVG is drawn on the server, with no script.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .Produces<string>(StatusCodes.Status200OK, "image/svg+xml")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        group.MapGet("/{workflow_id}/versions/{version_number}", GetVersion)
            .WithName("GetWorkflowVersion")
            .WithSummary("One version's definition (readable after its workflow is deleted, as the runs it pinned are)")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        // Editors fetch it by the address a definition's "$schema" names, with no key: it describes the format, not a tenant's data.
        routes.MapGet("/v1/schemas/workflow-definition.json", () => Results.Text(DefinitionSchema.Text, "application/schema+json"))
            .WithTags("Workflows")
            .WithName("GetWorkflowDefinitionSchema")
            .WithSummary("The JSON Schema (draft 2020-12) of a workflow definition, for editors: name it in a definition's \"$schema\"")
            .Produces<string>(StatusCodes.Status200OK, "application/schema+json")
            .AllowAnonymous();

        return group;
    }

    private static async Task<Created<WorkflowCreatedResponse>> CreateWorkflow(
        HttpRequest request, RequestBody body, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var definition = await body.ReadJsonAsync(request, ct);
        var created = await workflows.CreateAsync(caller.TenantId, definition, ct);
        var workflow = created.Workflow;
        return TypedResults.Created(
            $"/v1/workflows/{workflow.Id}",
            new WorkflowCreatedResponse(workflow.Id, workflow.Name, 0, workflow.ActiveVersion, created.Warnings));
    }

    private static async Task<Ok<DefinitionCheckResponse>> ValidateDefinition(HttpRequest request, RequestBody body, WorkflowService workflows, CancellationToken ct)
    {
        var checkedDefinition = workflows.Check(await body.ReadJsonAsync(request, ct));
        return TypedResults.Ok(new DefinitionCheckResponse(checkedDefinition.Errors.Count == 0, checkedDefinition.Errors, checkedDefinition.Warnings));
    }

    private static async Task<Ok<WorkflowListResponse>> ListWorkflows(
        WorkflowService workflows, Caller caller, CancellationToken ct,
        [FromQuery(Name = "page")] string? page = null, [FromQuery(Name = "limit")] string? limit = null, [FromQuery(Name = "q")] string? nameContains = null)
    {
        var paging = RouteValues.PagingOrThrow(page, limit);
        var query = new WorkflowQuery
        {
            NameContains = RouteValues.TextOrThrow(nameContains, "q"),
            IncludeDeleted = caller.IncludeDeleted,
            Page = paging.Page,
            Limit = paging.Limit,
        };
        var found = await workflows.ListAsync(caller.TenantId, query, ct);
        var items = found.Items.Select(WorkflowSummary.From).ToList();
        return TypedResults.Ok(new WorkflowListResponse(items, paging.Page, paging.Limit, found.Total));
    }

    private static async Task<Ok<WorkflowResponse>> GetWorkflow(
        [FromRoute(Name = "workflow_id")] string workflowId, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var workflow = await workflows.GetAsync(caller.TenantId, RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"), ct, caller.IncludeDeleted);
        return TypedResults.Ok(await DescribeAsync(workflow, workflows, caller, ct));
    }

    private static async Task<NoContent> DeleteWorkflow(
        [FromRoute(Name = "workflow_id")] string workflowId, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        await workflows.DeleteAsync(caller.TenantId, RouteValues.ObjectIdOrThrow(workflowId, "workflow_id"), ct);
        return TypedResults.NoContent();
    }

    private static async Task<WorkflowResponse> DescribeAsync(WorkflowDocument workflow, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var versions = await workflows.ListVersionsAsync(caller.TenantId, workflow.Id, ct);
        return new WorkflowResponse(
            workflow.Id,
            workflow.Name,
            workflow.Description,
            workflow.ActiveVersion,
            workflow.LatestVersion,
            versions.Select(v => new VersionSummary(v.VersionNumber, v.Name, v.VersionNumber == workflow.ActiveVersion, v.CreatedAt.UtcDateTime)).ToList(),
            workflow.CreatedAt.UtcDateTime,
            workflow.UpdatedAt.UtcDateTime,
            workflow.DeletedAt?.UtcDateTime,
            workflow.ForcedActivations);
    }

    private static async Task<Created<VersionCreatedResponse>> AddVersion(
        [FromRoute(Name = "workflow_id")] string workflowId, HttpRequest request, RequestBody body, WorkflowService workflows, Caller caller, CancellationToken ct,
        [FromQuery(Name = "activate")] string? activate = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var shouldActivate = RouteValues.BooleanOrThrow(activate, "activate", fallback: true);
        var definition = await body.ReadJsonAsync(request, ct);
        var added = await workflows.AddVersionAsync(caller.TenantId, id, definition, shouldActivate, ct);
        return TypedResults.Created(
            $"/v1/workflows/{id}/versions/{added.VersionNumber}",
            new VersionCreatedResponse(id, added.VersionNumber, added.Workflow.ActiveVersion, added.Warnings));
    }

    private static async Task<Ok<WorkflowResponse>> ActivateVersion(
        [FromRoute(Name = "workflow_id")] string workflowId, [FromRoute(Name = "version_number")] string versionNumber,
        WorkflowService workflows, Caller caller, CancellationToken ct, [FromQuery(Name = "force")] string? force = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var forced = RouteValues.BooleanOrThrow(force, "force", fallback: false);
        if (forced && caller.Role < Role.Admin)
        {
            throw new DomainException(ErrorKind.Forbidden, ProblemCodes.Forbidden, "Not permitted", "Activating past an evaluation gate (force=true) takes an admin key.");
        }

        var workflow = await workflows.ActivateAsync(caller.TenantId, id, RouteValues.VersionNumberOrThrow(versionNumber)!.Value, CancellationToken.None, forced ? caller.Principal : null);
        return TypedResults.Ok(await DescribeAsync(workflow, workflows, caller, ct));
    }

    private static async Task<IResult> GetDiagram(
        [FromRoute(Name = "workflow_id")] string workflowId, [FromRoute(Name = "version_number")] string versionNumber,
        WorkflowService workflows, DefinitionCache definitions, Caller caller, CancellationToken ct, [FromQuery(Name = "format")] string? format = null)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var number = RouteValues.VersionNumberOrThrow(versionNumber)!.Value;
        var svg = format switch
        {
            null or "mermaid" => false,
            "svg" => true,
            _ => throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid format", "format is mermaid or svg.").With("parameter", "format"),
        };
        // A version stays readable after its workflow is deleted: the runs it pinned are read with it.
        var version = await workflows.GetVersionAsync(caller.TenantId, id, number, ct, includeDeleted: true);
        var graph = WorkflowGraph.From(await definitions.GetRequiredAsync(caller.TenantId, id, number, ct), version.DefinitionJson);
        return svg
            ? Results.Text(SvgWriter.Write(graph), "image/svg+xml", Encoding.UTF8)
            : Results.Text(MermaidWriter.Write(graph), "text/plain", Encoding.UTF8);
    }

    private static async Task<Ok<WorkflowVersionResponse>> GetVersion(
        [FromRoute(Name = "workflow_id")] string workflowId, [FromRoute(Name = "version_number")] string versionNumber,
        WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var id = RouteValues.ObjectIdOrThrow(workflowId, "workflow_id");
        var number = RouteValues.VersionNumberOrThrow(versionNumber)!.Value;
        var workflow = await workflows.GetAsync(caller.TenantId, id, ct, includeDeleted: true);
        WorkflowVersionDocument version = await workflows.GetVersionAsync(caller.TenantId, id, number, ct, includeDeleted: true);
        return TypedResults.Ok(new WorkflowVersionResponse(
            id, version.VersionNumber, version.Name, version.VersionNumber == workflow.ActiveVersion, version.CreatedAt.UtcDateTime, JsonText.ParseStored(version.DefinitionJson)!.AsObject()));
    }
}
