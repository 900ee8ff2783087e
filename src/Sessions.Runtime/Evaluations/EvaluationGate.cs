using Sessions.Runtime.Batches;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Evaluations;

/// <summary>
/// The active version's `evaluation_gate`: another version becomes active only once a finished evaluation of it shows
/// at most `max_diverged_percent` of its replayed runs changed (diverged, refused or stopped). Asked before every
/// activation, the upload that activates included; an admin may force one past it, and the workflow keeps that.
/// </summary>
public sealed class EvaluationGate(IBatchStore batches, DefinitionCache definitions) : IActivationGate
{
    /// <summary>Why the gate refuses activating <paramref name="versionNumber"/> now, or null when it lets it through.</summary>
    public async Task<DomainException?> RefusalAsync(WorkflowDocument workflow, int versionNumber, CancellationToken cancellationToken)
    {
        if (versionNumber == workflow.ActiveVersion)
        {
            return null;
        }

        var active = await definitions.GetRequiredAsync(workflow.TenantId, workflow.Id, workflow.ActiveVersion, cancellationToken);
        if (active.MaxDivergedPercent is not { } limit)
        {
            return null;
        }

        var evaluations = await batches.ListAsync(workflow.TenantId, workflow.Id, BatchKind.Evaluation, EvaluationService.MaxListed, cancellationToken);
        var finished = evaluations.FirstOrDefault(e => e.VersionNumber == versionNumber && e.Status == BatchStatus.Completed);
        if (finished is null)
        {
            return new DomainException(
                    ErrorKind.Conflict,
                    ProblemCodes.EvaluationRequired,
                    "Evaluation required",
                    $"Version {workflow.ActiveVersion} requires a finished evaluation of version {versionNumber} with at most {limit} % of its runs changed before it is activated; version {versionNumber} has none. POST /v1/workflows/{workflow.Id}/versions/{versionNumber}/evaluations, then activate.")
                .With("version_number", versionNumber)
                .With("max_diverged_percent", limit);
        }

        var changed = (await EvaluationService.SummaryAsync(batches, finished, cancellationToken))!.DivergedPercent;
        return changed <= limit
            ? null
            : new DomainException(
                    ErrorKind.Conflict,
                    ProblemCodes.EvaluationRequired,
                    "Evaluation failed the gate",
                    $"Evaluation {finished.Id} of version {versionNumber} changed {changed} % of its runs; version {workflow.ActiveVersion} allows at most {limit} %.")
                .With("version_number", versionNumber)
                .With("evaluation_id", finished.Id)
                .With("diverged_percent", changed)
                .With("max_diverged_percent", limit);
    }
}
