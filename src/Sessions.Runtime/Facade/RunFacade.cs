using System.Text.Json.Nodes;
using Sessions.Runtime.Branching;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.History;
using Sessions.Runtime.Lifecycle;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Answers;
using Sessions.Runtime.Webhooks;

namespace Sessions.Runtime.Facade;

/// <summary>A turn as a caller asks for it: its request, under an idempotency key or not, now or in the background.</summary>
public sealed record TurnCall(TurnRequest Request)
{
    /// <summary>The caller's key, already made the caller's own (<see cref="IdempotentTurns.ScopeKey"/>), and what its request hashes to.</summary>
    public (string Key, string RequestHash)? Idempotency { get; init; }

    /// <summary>Accept the turn and answer at once (`202`); a worker runs it. A stop is never queued: it stops what runs now.</summary>
    public bool InBackground { get; init; }

    /// <summary>Sees the turn's events as they are recorded, for a stream.</summary>
    public TurnObserver? Observer { get; init; }
}

/// <summary>What came of a turn a caller asked for.</summary>
public abstract record TurnTaken
{
    private TurnTaken()
    {
    }

    /// <summary>The turn ran now: its outcome, with the answer its client gets (<see cref="TurnOutcome.Answer"/>).</summary>
    public sealed record Ran(TurnOutcome Outcome) : TurnTaken;

    /// <summary>The turn was accepted to run in the background: its `202` answer.</summary>
    public sealed record Accepted(string RunId, string Answer) : TurnTaken;

    /// <summary>An earlier request under the same key answered already: its answer again, and nothing ran.</summary>
    public sealed record Replayed(string RunId, string Answer, bool WasAccepted) : TurnTaken;

    /// <summary>The turn was refused, and nothing of it was kept, its files included.</summary>
    public sealed record Refused(DomainException Reason) : TurnTaken;
}

/// <summary>What joining a turn came to: its answer, or the run as it is while the turn is still to come.</summary>
public sealed record TurnJoined(string? Answer, TurnResult Result);

/// <summary>
/// What callers do with runs, in one place, scoped by the caller's tenant and, for a viewer, by its own runs: take a turn
/// (answered, streamed, or accepted for the background), join it, read a run and its turns, events, transcript, files and
/// webhook deliveries, cancel, delete, purge, fork and replay. The HTTP endpoints, batches and protocol adapters talk to
/// this and to nothing else of the runtime's turns; every turn it takes enters the one turn pipeline.
/// </summary>
public sealed partial class RunFacade(
    TurnPipeline turns,
    IdempotentTurns keyedTurns,
    BackgroundTurns background,
    TurnResults results,
    TurnAnswers answers,
    RunHistory history,
    RunLifecycle lifecycle,
    ForkService forks,
    ReplayService replays,
    RunFiles files,
    WebhookDispatcher webhooks,
    RunEventFeed feed)
{
    /// <summary>Files sent with turns: stored as they stream in, before their turn is taken.</summary>
    public RunFiles Files => files;

    /// <summary>
    /// Takes a turn: runs it now (answered, or streamed to <see cref="TurnCall.Observer"/>), or accepts it for the
    /// background; under an idempotency key, a retry gets the first answer again and runs nothing. A refused turn keeps
    /// nothing: the files it brought are erased, and so are a retry's copies of files the first request already gave.
    /// </summary>
    public async Task<TurnTaken> TakeTurnAsync(TurnCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        try
        {
            TurnTaken taken;
            if (call.InBackground && request.Command != TurnCommand.Stop)
            {
                taken = call.Idempotency is { } background
                    ? Accepted(await keyedTurns.AcceptAsync(request, background.Key, background.RequestHash, cancellationToken))
                    : await AcceptAsync(request, cancellationToken);
            }
            else
            {
                taken = call.Idempotency is { } keyed
                    ? Ran(await keyedTurns.ExecuteAsync(request, keyed.Key, keyed.RequestHash, cancellationToken, call.Observer))
                    : new TurnTaken.Ran(await turns.ExecuteAsync(request, cancellationToken, call.Observer));
            }

            if (taken is TurnTaken.Replayed)
            {
                // The first request's files are the run's; this retry's copies are no one's.
                await files.DiscardAsync(request.TenantId, request.Files.Select(f => f.File));
            }

            return taken;
        }
        catch (DomainException refused)
        {
            // Refused: nothing of the turn was kept, so neither are the files that came with it.
            await files.DiscardAsync(request.TenantId, request.Files.Select(f => f.File));
            return new TurnTaken.Refused(refused);
        }
    }

    private async Task<TurnTaken> AcceptAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var accepted = await background.AcceptAsync(request, null, cancellationToken);
        return new TurnTaken.Accepted(accepted.RunId, answers.WriteAccepted(accepted));
    }

    private static TurnTaken Accepted(IdempotentResult result) =>
        result.IsReplay ? new TurnTaken.Replayed(RunIdOf(result.Answer), result.Answer, WasAccepted: true) : new TurnTaken.Accepted(RunIdOf(result.Answer), result.Answer);

    private static TurnTaken Ran(IdempotentResult result) =>
        result.Outcome is { } outcome ? new TurnTaken.Ran(outcome) : new TurnTaken.Replayed(RunIdOf(result.Answer), result.Answer, WasAccepted: false);

    private static string RunIdOf(string answer) => JsonNode.Parse(answer)!["run_id"]!.GetValue<string>();

    /// <summary>
    /// A turn's answer, for a client that did not wait for it (a background turn, or a synchronous one whose client gave
    /// up waiting), waiting up to <paramref name="wait"/> for it: the same answer as execute's, or the problem a
    /// background turn was refused with (thrown), or, while the turn is still to come, the run as it is.
    /// </summary>
    public async Task<TurnJoined> JoinTurnAsync(RunScope scope, string runId, int turnNumber, TimeSpan wait, CancellationToken cancellationToken)
    {
        var result = await results.JoinAsync(scope, runId, turnNumber, wait, cancellationToken);
        return new TurnJoined(result.Outcome is { } outcome ? answers.Write(outcome) : null, result);
    }

    /// <summary>Completes when a turn of the run commits on this server, for readers that follow a run.</summary>
    public Task NextCommit(string runId) => feed.NextCommit(runId);

    /// <summary>Cancels each run that is still going, reporting per run; another tenant's run is not found.</summary>
    public Task<IReadOnlyList<CancelResult>> CancelAsync(RunScope scope, IReadOnlyList<string> runIds, string? reason, CancellationToken cancellationToken) =>
        history.CancelAsync(scope.TenantId, runIds, reason, cancellationToken);

    /// <summary>Cancels every unfinished run of a workflow (an admin's), reporting per run.</summary>
    public Task<IReadOnlyList<CancelResult>> CancelWorkflowAsync(RunScope scope, string workflowId, string? reason, CancellationToken cancellationToken) =>
        history.CancelWorkflowRunsAsync(scope.TenantId, workflowId, reason, cancellationToken);

    /// <summary>Deletes a run the scope sees: hidden at once, erased by the purge.</summary>
    public Task<RunDocument> DeleteAsync(RunScope scope, string runId, CancellationToken cancellationToken) =>
        lifecycle.DeleteAsync(scope, runId, cancellationToken);

    /// <summary>An admin's purge: its own tenant's deleted runs and expired ones, at once.</summary>
    public Task<PurgeReport> PurgeAsync(RunScope scope, CancellationToken cancellationToken) => lifecycle.PurgeTenantAsync(scope, cancellationToken);

    /// <summary>A new run from the state a run had after one of its turns, on its version or another.</summary>
    public Task<RunDocument> ForkAsync(RunScope scope, string runId, int turnNumber, int? versionNumber, Recordings.CallReplayMode calls, CancellationToken cancellationToken) =>
        forks.ForkAsync(scope.TenantId, runId, turnNumber, versionNumber, calls, cancellationToken);

    /// <summary>A run's inputs sent again to a new run on a version, with where it diverges, turn by turn.</summary>
    public Task<ReplayReport> ReplayAsync(RunScope scope, string runId, int? versionNumber, Recordings.CallReplayMode calls, CancellationToken cancellationToken) =>
        replays.ReplayAsync(scope.TenantId, runId, versionNumber, calls, cancellationToken);

    /// <summary>The run's webhook deliveries, each with every attempt.</summary>
    public async Task<(RunDocument Run, IReadOnlyList<WebhookDelivery> Deliveries)> GetDeliveriesAsync(RunScope scope, string runId, CancellationToken cancellationToken)
    {
        var run = await history.GetRunAsync(scope, runId, cancellationToken);
        return (run, await webhooks.ListForRunAsync(run.TenantId, run.Id, cancellationToken));
    }

    /// <summary>Makes a delivery of the run again, from now; a delivery it does not have is a 404.</summary>
    public async Task<WebhookDelivery> RedeliverAsync(RunScope scope, string runId, string deliveryId, CancellationToken cancellationToken)
    {
        var run = await history.GetRunAsync(scope, runId, cancellationToken);

        // Not tied to the caller staying connected: once accepted, it is carried out.
        return await webhooks.RedeliverAsync(run.TenantId, run.Id, deliveryId, CancellationToken.None)
            ?? throw ProblemCodes.NotFound(ProblemCodes.DeliveryNotFound, "Delivery", deliveryId);
    }
}
