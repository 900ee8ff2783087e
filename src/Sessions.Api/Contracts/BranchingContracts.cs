using System.ComponentModel;
using Sessions.Api.Http;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Contracts;

public sealed record ForkRequest(
    [property: Description("The source turn whose end state the fork starts from (1 to the run's turn_number).")] int TurnNumber,
    [property: Description("Run the fork on this version of the workflow; default: the source run's version.")] int? VersionNumber = null) : ICheckedBody
{
    public void Check(List<FieldError> errors)
    {
        FieldErrors.NotNegative(TurnNumber, "$.turn_number", errors);
        FieldErrors.NotNegative(VersionNumber, "$.version_number", errors);
    }
}

public sealed record ForkResponse(
    string RunId,
    string SourceRunId,
    int CheckpointSourceTurnIndex,
    int VersionNumber,
    RunStatus Status,
    bool IsWaitingForInput,
    InputHintContract? NextInputHint)
{
    public static ForkResponse From(RunDocument fork) => new(
        fork.Id,
        fork.SourceRunId!,
        fork.CheckpointSourceTurnIndex!.Value,
        fork.VersionNumber,
        fork.Status,
        fork.Status == RunStatus.WaitingForUserInput,
        fork.Status == RunStatus.WaitingForUserInput ? InputHintContract.From(fork.WaitingHint) : null);
}

public sealed record ReplayRequest(
    [property: Description("The version to replay against; default: the workflow's active version.")] int? VersionNumber = null) : ICheckedBody
{
    public void Check(List<FieldError> errors) => FieldErrors.NotNegative(VersionNumber, "$.version_number", errors);
}
