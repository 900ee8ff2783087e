using Sessions.Runtime.Nodes;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Webhooks;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Definitions;

/// <summary>The loop guard's bounds, per turn.</summary>
public sealed record WorkflowLimits(int MaxNodeExecutionsPerTurn, int MaxVisitsPerNodePerTurn)
{
    public static readonly WorkflowLimits Default = new(100, 10);
}

/// <summary>A validated, compiled workflow version. Immutable, so one instance serves every turn of every run.</summary>
public sealed class WorkflowDefinition(
    string name,
    string? description,
    string start,
    JsonObject initialVariables,
    WorkflowLimits limits,
    IReadOnlyDictionary<string, CompiledNode> nodes,
    IReadOnlyList<DefinitionProblem> warnings,
    IReadOnlyList<WebhookSubscription>? webhooks = null,
    TimeSpan? retention = null,
    double? maxDivergedPercent = null)
{
    /// <summary>
    /// `evaluation_gate.max_diverged_percent`: while this version is active, another is activated only with a finished
    /// evaluation on it whose runs changed by at most this many percent; null when there is no gate.
    /// </summary>
    public double? MaxDivergedPercent { get; } = maxDivergedPercent;

    /// <summary>How long a finished run is kept (`retention_days`) before the purge erases it; null keeps it.</summary>
    public TimeSpan? Retention { get; } = retention;

    public string Name { get; } = name;

    public string? Description { get; } = description;

    public string Start { get; } = start;

    public WorkflowLimits Limits { get; } = limits;

    public IReadOnlyDictionary<string, CompiledNode> Nodes { get; } = nodes;

    /// <summary>What the upload warned about; each run reports them as `workflow_warning` events on its first turn.</summary>
    public IReadOnlyList<DefinitionProblem> Warnings { get; } = warnings;

    /// <summary>Who hears about this workflow's runs (`webhooks`).</summary>
    public IReadOnlyList<WebhookSubscription> Webhooks { get; } = webhooks ?? [];

    /// <summary>A fresh copy of the declared variables for a new run.</summary>
    public JsonObject NewVariables() => (JsonObject)initialVariables.DeepClone();
}
