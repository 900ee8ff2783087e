using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Recordings;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.Branching;

/// <summary>One way a replayed turn differs from the original: the field, and its value before and after.</summary>
public sealed record Difference(string Field, JsonNode? Before, JsonNode? After);

/// <summary>What a turn looked like: its status (or `rejected` with a problem code), what was said, the hint.</summary>
public sealed record TurnView(string Status, string? Code, IReadOnlyList<string> Said, JsonObject? NextInputHint);

/// <summary>
/// One re-sent input and how it went. <paramref name="Calls"/> says how the turn's calls were answered (from the
/// recording, or live) and which could not be answered from the recording; <paramref name="Cause"/>, for a turn that
/// diverged, what the difference comes from: `definition` (every call was answered from the recording, or a call's
/// request changed) or `live_call` (the requests were the recorded ones, and at least one was made for real).
/// </summary>
public sealed record ReplayedTurn(
    int TurnNumber,
    JsonObject Input,
    bool Diverged,
    IReadOnlyList<Difference> Differences,
    TurnView Before,
    TurnView? After,
    CallReport Calls,
    string? Cause);

/// <summary>
/// A replay turn by turn. <paramref name="Calls"/> and <paramref name="OnChanged"/> are what it was asked to do with
/// calls; <paramref name="Stopped"/> is the call it stopped before (`on_changed`: `stop`), whose turn is the last listed.
/// </summary>
public sealed record ReplayReport(
    string SourceRunId,
    string? ReplayRunId,
    int SourceVersionNumber,
    int VersionNumber,
    bool Diverged,
    int? FirstDivergentTurn,
    IReadOnlyList<ReplayedTurn> Turns,
    CallSource Calls,
    ChangedCallPolicy OnChanged,
    ReplayStop? Stopped);

/// <summary>Where a recorded replay stopped: the turn, and the call it could not answer from the recording nor make.</summary>
public sealed record ReplayStop(int TurnNumber, CallDivergence Call);

/// <summary>What a diverged turn's differences come from (<see cref="ReplayedTurn.Cause"/>).</summary>
public static class DivergenceCauses
{
    public const string Definition = "definition";
    public const string LiveCall = "live_call";

    public static string? Of(bool diverged, CallReport calls) =>
        !diverged ? null
        : calls.Divergences.Any(d => d.Kind != CallDivergenceKinds.RecordingTruncated) ? Definition
        : calls.Live > 0 ? LiveCall
        : Definition;
}

/// <summary>
/// Sends every recorded input of a run, in order, to a new run on a chosen version, and reports turn by turn where the
/// new run differs: so a new version can be checked against real conversations before it is activated.
/// </summary>
public sealed class ReplayService(IRunStore runs, IWorkflowStore workflows, TurnPipeline turns)
{
    public async Task<ReplayReport> ReplayAsync(string tenantId, string runId, int? versionNumber, CallReplayMode calls, CancellationToken cancellationToken)
    {
        var source = await runs.GetAsync(tenantId, runId, cancellationToken) is { DeletedAt: null } found ? found : throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);
        if (source.Origin == RunOrigin.Fork)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.ReplayUnsupported, "Forks cannot be replayed",
                "A fork began from another run's checkpoint, not from the workflow's start; replay the run it was forked from.");
        }

        var workflow = await workflows.GetAsync(tenantId, source.WorkflowId, cancellationToken) is { DeletedAt: null } live ? live : throw ProblemCodes.NotFound(ProblemCodes.WorkflowNotFound, "Workflow", source.WorkflowId);
        var version = versionNumber ?? workflow.ActiveVersion;
        var turns = await runs.GetAllTurnsAsync(tenantId, runId, cancellationToken);
        var states = Checkpoints.StatesAfter(turns);

        string? replayId = null;
        ReplayStop? stopped = null;
        var replayed = new List<ReplayedTurn>();
        foreach (var turn in turns.Where(t => t.TurnNumber >= 1))
        {
            // Each turn's own events, read as its turn comes: a long run is never read into memory whole.
            var events = turn.LastSeq < turn.FirstSeq
                ? []
                : await runs.GetEventsAsync(tenantId, runId, turn.FirstSeq - 1, (int)(turn.LastSeq - turn.FirstSeq + 1), cancellationToken);
            var before = new TurnView(
                turn.Output[TurnDocument.OutputStatus]!.GetValue<string>(),
                null,
                Said(events),
                turn.Output[TurnDocument.OutputHint] as JsonObject);
            var step = await ReplayTurnAsync(tenantId, source, turn, replayId, version, calls, cancellationToken);
            replayId ??= step.View is { Code: null } ? step.RunId : null;
            var differences = Compare(before, states.GetValueOrDefault(turn.TurnNumber)?.Variables, step.View, step.Variables);
            var diverged = differences.Count > 0 || step.Calls.Divergences.Count > 0;
            replayed.Add(new ReplayedTurn(turn.TurnNumber, (JsonObject)turn.Input.DeepClone(), diverged, differences, before, step.View, step.Calls, DivergenceCauses.Of(diverged, step.Calls)));
            if (step.Stopped is { } call)
            {
                // Nothing after this turn can be replayed faithfully: the run did not get past the call.
                stopped = new ReplayStop(turn.TurnNumber, call);
                break;
            }
        }

        var first = replayed.FirstOrDefault(t => t.Diverged)?.TurnNumber;
        return new ReplayReport(source.Id, replayId, source.VersionNumber, version, first is not null, first, replayed, calls.Source, calls.OnChanged, stopped);
    }

    private async Task<ReplayStep> ReplayTurnAsync(
        string tenantId, RunDocument source, TurnDocument turn, string? replayId, int version, CallReplayMode calls, CancellationToken cancellationToken)
    {
        var firstTurn = turn.TurnNumber == 1;
        if (!firstTurn && replayId is null)
        {
            return new ReplayStep(null, null, null, CallReport.None);
        }

        var request = RunInputReader.Read(turn.Input, tenantId, source.WorkflowId, replayId) with
        {
            VersionNumber = version,
            ReplayOf = firstTurn ? source.Id : null,
            ReplayedCalls = calls.For(turn.Calls, turn.StartedAt),
        };
        try
        {
            var outcome = await turns.ExecuteAsync(request, cancellationToken);
            var view = new TurnView(outcome.Run.Status.ToWire(), null, Said(outcome.Events), outcome.NextInputHint);
            return new ReplayStep(view, outcome.Run.Id, outcome.Run.Variables, outcome.Calls);
        }
        catch (ReplayStoppedException stop)
        {
            // The turn was not applied: the replay run stays as the turn before left it.
            var now = replayId is null ? null : await runs.GetAsync(tenantId, replayId, cancellationToken);
            return new ReplayStep(new TurnView(Stopped, stop.Divergence.Kind, [], null), replayId, now?.Variables, new CallReport(0, 0, [stop.Divergence]), stop.Divergence);
        }
        catch (DomainException refused) when (!firstTurn || refused.Kind != ErrorKind.NotFound)
        {
            // The new version refused this input (a reply it no longer accepts, a finished run): that is a divergence.
            var now = replayId is null ? null : await runs.GetAsync(tenantId, replayId, cancellationToken);
            return new ReplayStep(new TurnView(Rejected, refused.Code, [], null), replayId, now?.Variables, CallReport.None);
        }
    }

    /// <summary>The status a replayed turn shows when the replay stopped before one of its calls.</summary>
    public const string Stopped = "stopped";

    /// <summary>The status a replayed turn shows when the version refused its input.</summary>
    public const string Rejected = "rejected";

    private static List<Difference> Compare(TurnView before, JsonObject? beforeVariables, TurnView? after, JsonObject? afterVariables)
    {
        if (after is null)
        {
            return [new Difference("status", before.Status, "not_replayed")];
        }

        // A refused input, or a turn stopped before a call, changed nothing, so its status is the whole difference.
        if (after.Code is not null)
        {
            return [new Difference("status", before.Status, $"{after.Status}: {after.Code}")];
        }

        var differences = new List<Difference>();
        if (before.Status != after.Status)
        {
            differences.Add(new Difference("status", before.Status, after.Status));
        }

        if (!before.Said.SequenceEqual(after.Said))
        {
            differences.Add(new Difference("said", new JsonArray([.. before.Said.Select(s => JsonValue.Create(s))]), new JsonArray([.. after.Said.Select(s => JsonValue.Create(s))])));
        }

        if (!JsonNode.DeepEquals(before.NextInputHint, after.NextInputHint))
        {
            differences.Add(new Difference("next_input_hint", before.NextInputHint?.DeepClone(), after.NextInputHint?.DeepClone()));
        }

        if (beforeVariables is not null && afterVariables is not null)
        {
            foreach (var name in beforeVariables.Select(p => p.Key).Union(afterVariables.Select(p => p.Key)).Order(StringComparer.Ordinal))
            {
                var was = beforeVariables[name];
                var now = afterVariables[name];
                if (!Values.JsonValues.AreEqual(was, now) || beforeVariables.ContainsKey(name) != afterVariables.ContainsKey(name))
                {
                    differences.Add(new Difference($"variables.{name}", was?.DeepClone(), now?.DeepClone()));
                }
            }
        }

        return differences;
    }

    /// <summary>One re-sent input: how the turn looked (null when it was never sent), the replay run, its variables after.</summary>
    private sealed record ReplayStep(TurnView? View, string? RunId, JsonObject? Variables, CallReport Calls, CallDivergence? Stopped = null);

    private static List<string> Said(IEnumerable<RunEvent> events) =>
        events.Select(e => e.Payload).OfType<Said>().Select(said => said.Text).ToList();
}
