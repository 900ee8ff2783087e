using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Workflows;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Recordings;
using Microsoft.Extensions.Options;

namespace Sessions.Runtime.Branching;

/// <summary>
/// Starts a new run from the state a run had after one of its turns, on the same or another version of its workflow.
/// The fork is written as its own turn 0 (no events), so its origin stays in its history and it can be forked in turn.
/// </summary>
public sealed class ForkService(IRunStore runs, DefinitionCache definitions, IOptions<ReplayOptions> replayOptions, TimeProvider clock)
{
    public async Task<RunDocument> ForkAsync(string tenantId, string runId, int turnNumber, int? versionNumber, CallReplayMode calls, CancellationToken cancellationToken)
    {
        var source = await runs.GetAsync(tenantId, runId, cancellationToken) is { DeletedAt: null } found ? found : throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);
        // Turns 0 (a fork's own) to turnNumber: the checkpoint needs nothing after it.
        var turns = await runs.GetTurnsAsync(tenantId, runId, -1, turnNumber + 1, cancellationToken);
        if (!turns.Any(t => t.TurnNumber == turnNumber))
        {
            throw new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Turn not found", $"The run has no turn {turnNumber}; its turns are 1 to {source.TurnNumber}.")
                .With("turn_number", turnNumber);
        }

        var state = Checkpoints.StatesAfter(turns).GetValueOrDefault(turnNumber)
            ?? throw new DomainException(ErrorKind.Conflict, ProblemCodes.CheckpointUnavailable, "No checkpoint", $"Turn {turnNumber} was recorded before checkpoints were kept.");
        if (RunMachine.IsTerminal(state.Status))
        {
            throw new DomainException(ErrorKind.Conflict, ProblemCodes.CheckpointTerminal, "Run had finished", $"After turn {turnNumber} the run was '{state.Status.ToWire()}'; fork an earlier turn.")
                .With("run_status", state.Status.ToWire());
        }

        var version = versionNumber ?? state.VersionNumber;
        var target = await definitions.GetRequiredAsync(tenantId, state.WorkflowId, version, cancellationToken);
        var sourceDefinition = await definitions.GetRequiredAsync(tenantId, state.WorkflowId, state.VersionNumber, cancellationToken);
        var hint = await CheckCompatibleAsync(state, sourceDefinition, target, version, Recording(turns.Single(t => t.TurnNumber == turnNumber), state, calls), cancellationToken);

        var now = clock.GetUtcNow();
        var fork = state with
        {
            Id = ObjectId.NewId(now).ToString(),
            VersionNumber = version,
            Version = 1,
            Lease = null,

            // A fork starts waiting afresh: the source's deadline is not the fork's.
            Timer = null,
            Queue = [],
            TurnNumber = 0,
            LastSeq = 0,
            Variables = (JsonObject)state.Variables.DeepClone(),
            WaitingHint = hint,
            Error = null,
            Output = null,
            TerminationSource = null,
            LlmTokenUsage = null,
            LlmLatencyStats = null,
            Origin = RunOrigin.Fork,
            SourceRunId = source.Id,
            CheckpointSourceTurnIndex = turnNumber,
            ChangedBytesSinceSnapshot = 0,
            CreatedAt = now,
            UpdatedAt = now,
            CompletedAt = null,
            DeletedAt = null,
            ExpiresAt = null,
        };
        var input = new JsonObject { ["command"] = "fork", ["source_run_id"] = source.Id, ["turn_number"] = turnNumber, ["version_number"] = version };
        await runs.CommitTurnAsync(new TurnCommit(fork, 0, [], new TurnDocument(fork.Id, 0, input, TurnDocument.OutputOf(fork), 1, 0, now, now, fork)), cancellationToken);
        return fork;
    }

    /// <summary>
    /// The fork resumes where the source stopped, so that node must exist in the target version with the same type.
    /// A waiting node's question is asked as the target version words it.
    /// </summary>
    private async Task<JsonObject?> CheckCompatibleAsync(
        RunDocument state, Definitions.WorkflowDefinition source, Definitions.WorkflowDefinition target, int version, CallLedger calls, CancellationToken cancellationToken)
    {
        var resumeAt = state.WaitingNodeId ?? state.CursorNodeId;
        if (resumeAt is null)
        {
            return null;
        }

        ResumePoint.EnsureExists(resumeAt, source, target, version);
        var node = target.Nodes[resumeAt];

        if (state.WaitingNodeId is null)
        {
            return null;
        }

        NodeResult waiting;
        try
        {
            waiting = await node.Handler.ExecuteAsync(new NodeContext(node, state.Variables, state.TurnNumber, clock.GetUtcNow(), state.TenantId, calls: calls), cancellationToken);
        }
        catch (ReplayStoppedException stop)
        {
            throw new DomainException(
                    ErrorKind.Conflict,
                    ProblemCodes.RecordedCallChanged,
                    "Recorded call changed",
                    $"Node '{stop.Divergence.NodeId}' asks its question with a call the source turn's recording cannot answer ({stop.Divergence.Kind}); fork with \"on_changed\": \"live\" to make it.")
                .With("call", stop.Divergence);
        }

        return waiting.Hint?.ToJson() ?? state.WaitingHint;
    }

    /// <summary>
    /// The ledger the waiting node asks its question again through: answered from the last call that node made in the
    /// source turn (the one whose answer it waits on), or made live.
    /// </summary>
    private CallLedger Recording(TurnDocument turn, RunDocument state, CallReplayMode calls)
    {
        var asked = state.WaitingNodeId is { } waiting ? turn.Calls?.Where(c => c.NodeId == waiting).TakeLast(1).ToList() : null;
        return new CallLedger(calls.For(asked, turn.StartedAt), replayOptions.Value);
    }
}
