using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Validation;

namespace Sessions.Api.Contracts;

/// <summary>A workflow definition as uploaded (described here for the OpenAPI document; the server reads the raw JSON).</summary>
public sealed record WorkflowDefinitionContract(
    string Name,
    string? Description,
    [property: Description("The id of the first node.")] string Start,
    [property: Description("Initial values of the run's variables.")] JsonObject? Variables,
    LimitsContract? Limits,
    IReadOnlyList<NodeContract> Nodes);

public sealed record LimitsContract(
    [property: Description("Default 100.")] int? MaxNodeExecutionsPerTurn,
    [property: Description("Default 10.")] int? MaxVisitsPerNodePerTurn);

/// <summary>A node: id, type, next, and the fields of its type (text, prompt, variable, input, assign, cases, default, output, error).</summary>
public sealed class NodeContract
{
    public required string Id { get; init; }

    [Description("say, ask, set, branch, pause, end or fail.")]
    public required string Type { get; init; }

    public string? Next { get; init; }

    [JsonExtensionData]
    public Dictionary<string, object?>? Fields { get; init; }
}

public sealed record WorkflowCreatedResponse(string WorkflowId, string Name, int VersionNumber, int ActiveVersion, IReadOnlyList<DefinitionProblem> Warnings);

/// <summary>What an upload of a definition would report: <c>valid</c> when it has no errors (warnings do not stop an upload).</summary>
public sealed record DefinitionCheckResponse(bool Valid, IReadOnlyList<DefinitionProblem> Errors, IReadOnlyList<DefinitionProblem> Warnings);

public sealed record VersionCreatedResponse(string WorkflowId, int VersionNumber, int ActiveVersion, IReadOnlyList<DefinitionProblem> Warnings);

public sealed record WorkflowSummary(
    string WorkflowId,
    string Name,
    string? Description,
    int ActiveVersion,
    int LatestVersion,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("When it was deleted; only admins listing with include_deleted=true see deleted workflows.")] DateTime? DeletedAt = null)
{
    public static WorkflowSummary From(WorkflowDocument w) =>
        new(w.Id, w.Name, w.Description, w.ActiveVersion, w.LatestVersion, w.CreatedAt.UtcDateTime, w.UpdatedAt.UtcDateTime, w.DeletedAt?.UtcDateTime);
}

public sealed record WorkflowListResponse(IReadOnlyList<WorkflowSummary> Items, int Page, int Limit, long Total);

public sealed record VersionSummary(int VersionNumber, string Name, bool IsActive, DateTime CreatedAt);

public sealed record WorkflowResponse(
    string WorkflowId,
    string Name,
    string? Description,
    int ActiveVersion,
    int LatestVersion,
    IReadOnlyList<VersionSummary> Versions,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("When it was deleted (admins with include_deleted=true only).")] DateTime? DeletedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Activations an admin forced past an evaluation gate: the version, who, when, and what the gate said.")] IReadOnlyList<Sessions.Runtime.Storage.ForcedActivation>? ForcedActivations = null);

public sealed record WorkflowVersionResponse(string WorkflowId, int VersionNumber, string Name, bool IsActive, DateTime CreatedAt, JsonObject Definition);
