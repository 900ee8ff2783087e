using System.ComponentModel;
using Sessions.Api.Http;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Recordings;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Contracts;

public sealed record ForkRequest(
    [property: Description("The source turn whose end state the fork starts from (1 to the run's turn_number).")] int TurnNumber,
    [property: Description("Run the fork on this version of the workflow; default: the source run's version.")] int? VersionNumber = null,
    [property: Description("How the waiting node's question is asked again if it calls a model: `live` (the default) or `recorded` (answered from the source turn's recording).")] string? Calls = null,
    [property: Description("With `recorded`: what to do when that call differs from the recording: `stop` (the default: 409 `recorded_call_changed`) or `live`.")] string? OnChanged = null) : ICheckedBody
{
    public void Check(List<FieldError> errors)
    {
        FieldErrors.NotNegative(TurnNumber, "$.turn_number", errors);
        FieldErrors.NotNegative(VersionNumber, "$.version_number", errors);
        CallModes.Check(Calls, OnChanged, errors);
    }

    public CallReplayMode ToMode() => CallModes.Of(Calls, OnChanged, CallReplayMode.Live);
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
    [property: Description("The version to replay against; default: the workflow's active version.")] int? VersionNumber = null,
    [property: Description("How the replay's model and HTTP calls are answered: `recorded` (the default: from the source run's recording) or `live` (made again).")] string? Calls = null,
    [property: Description("With `recorded`: what to do with a call whose request differs from the recording, or that the source never made: `stop` (the default: the replay stops there, reported) or `live` (the call is made).")] string? OnChanged = null) : ICheckedBody
{
    public void Check(List<FieldError> errors)
    {
        FieldErrors.NotNegative(VersionNumber, "$.version_number", errors);
        CallModes.Check(Calls, OnChanged, errors);
    }

    public CallReplayMode ToMode() => CallModes.Of(Calls, OnChanged, CallReplayMode.Recorded);
}

/// <summary>The `calls` and `on_changed` fields replays and forks share.</summary>
internal static class CallModes
{
    public static void Check(string? calls, string? onChanged, List<FieldError> errors)
    {
        if (calls is not null && !WireNames<CallSource>.TryParse(calls, out _))
        {
            errors.Add(new("$.calls", $"calls is one of: {string.Join(", ", WireNames<CallSource>.All)}, not \"{ProblemText.Shorten(calls)}\"."));
        }

        if (onChanged is not null && !WireNames<ChangedCallPolicy>.TryParse(onChanged, out _))
        {
            errors.Add(new("$.on_changed", $"on_changed is one of: {string.Join(", ", WireNames<ChangedCallPolicy>.All)}, not \"{ProblemText.Shorten(onChanged)}\"."));
        }
    }

    public static CallReplayMode Of(string? calls, string? onChanged, CallReplayMode fallback) => new(
        calls is null ? fallback.Source : WireNames<CallSource>.Parse(calls),
        onChanged is null ? ChangedCallPolicy.Stop : WireNames<ChangedCallPolicy>.Parse(onChanged));
}
