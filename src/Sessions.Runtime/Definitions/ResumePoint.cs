using Sessions.Runtime.Definitions;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Definitions;

/// <summary>
/// The one rule for moving a run to another version of its workflow (a fork, a retry): it goes on at the node where it
/// stands, so that node must exist in the target version with the same type.
/// </summary>
public static class ResumePoint
{
    public static void EnsureExists(string? resumeAt, WorkflowDefinition source, WorkflowDefinition target, int version)
    {
        if (resumeAt is not null && (!target.Nodes.TryGetValue(resumeAt, out var node) || node.Type != source.Nodes[resumeAt].Type))
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.CheckpointIncompatible, "Version cannot continue this checkpoint",
                    $"The run continues at node '{resumeAt}' ({source.Nodes[resumeAt].Type}), which version {version} does not have with that type.")
                .With("node_id", resumeAt);
        }
    }
}
