using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Workflows;

/// <summary>
/// Asked before a version becomes the active one (activated, or uploaded to be active at once): why not, or null.
/// The workflows only ask; what the gate holds to (an evaluation of the version) is the evaluations' to say.
/// </summary>
public interface IActivationGate
{
    Task<DomainException?> RefusalAsync(WorkflowDocument workflow, int versionNumber, CancellationToken cancellationToken);
}
