using Sessions.Runtime.Telemetry;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns.Answers;
using Sessions.Runtime.Turns.Gates;
using Sessions.Runtime.Webhooks;

namespace Sessions.Runtime.Turns;

/// <summary>What a turn commits: the run before and after it, its events, the input it recorded, and when it started.</summary>
internal sealed record TurnChanges(RunDocument Before, RunDocument After, IReadOnlyList<RunEvent> Events, JsonObject Input, DateTimeOffset StartedAt)
{
    /// <summary>The run before, as its commit stored it, when known: the state the turn's changes are taken against.</summary>
    public string? BeforeJson { get; init; }

    /// <summary>The answer the turn's client gets, stored under its idempotency key in the same write.</summary>
    public KeyClaim? Key { get; init; }

    public string? Answer { get; init; }

    /// <summary>The definition whose webhooks hear of the run; none for a turn that only records a refusal.</summary>
    public WorkflowDefinition? Definition { get; init; }

    /// <summary>The calls the turn's nodes made outside the server, kept with its turn record for recorded replays.</summary>
    public IReadOnlyList<Recordings.RecordedCall>? Calls { get; init; }
}

/// <summary>
/// Commits a held turn: the run at the next version, its events, its turn record (with its checkpoint), its answer
/// under its key, its files and its webhook deliveries, in one write that expects the run as the hold last knew it. If
/// only background turns were appended meanwhile, it commits again on top of them; if the store fails after applying the
/// write, it answers the turn as committed. Renders the turn's answer before, so an answer that cannot be written
/// refuses the turn instead of failing after it was applied.
/// </summary>
public sealed class TurnCommitter(
    IRunStore runs,
    IdempotencyKeys keys,
    RunEventFeed feed,
    WorkSignal work,
    IOptions<WebhookOptions> webhookOptions,
    TurnAnswers answers,
    TimeProvider clock,
    ILogger<TurnCommitter> logger)
{
    /// <summary>The turn's answer as its client receives it; one that cannot be written refuses the turn.</summary>
    internal string Render(TurnOutcome outcome)
    {
        try
        {
            return answers.Write(outcome);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Text.Json.JsonException or ArgumentException or NotSupportedException)
        {
            throw new DomainException(
                ErrorKind.Unprocessable,
                ProblemCodes.AnswerNotWritable,
                "Answer cannot be written",
                $"This turn's answer cannot be written as JSON ({ex.Message}); the turn was not applied.");
        }
    }

    /// <summary>Commits <paramref name="changes"/> under <paramref name="hold"/>; returns the run as committed, and the JSON it was stored as.</summary>
    internal async Task<(RunDocument Run, string? Json)> CommitAsync(RunHold hold, TurnChanges changes, CancellationToken cancellationToken)
    {
        // The turn's span (taken before the commit's own): the deliveries this commit writes continue its trace.
        var turnSpan = SessionsTelemetry.CurrentTraceParent();
        using var span = SessionsTelemetry.Source.HasListeners()
            ? SessionsTelemetry.Source.StartActivity(System.Diagnostics.ActivityKind.Internal, tags: [new(SessionsTelemetry.DbSystem, runs.DbSystem)], name: SessionsTelemetry.CommitSpan)
            : null;

        // From here on the hold is not kept alive: what is left is one write. The answer under the key is made only now,
        // so that it expects the key's version as its last renewal left it.
        var stored = await hold.BeforeCommitAsync();
        var answered = changes.Key is { } claim ? keys.Answer(claim, changes.Answer!, changes.Before.Id) : null;
        var (before, executed) = (changes.Before, changes.After);
        while (true)
        {
            var (updated, snapshot, changed) = Checkpoints.Record(before, executed with { Version = stored.Version + 1, Lease = null }, changes.BeforeJson);
            var output = TurnDocument.OutputOf(updated);
            if (changes.Events is [{ Payload: TurnRefused refusal }])
            {
                output["refusal"] = QueuedRefusal.ToOutput(refusal);
            }

            // The turn completed when the run was last changed: its changes leave that time to the record (Checkpoints).
            var record = new TurnDocument(before.Id, updated.TurnNumber, (JsonObject)changes.Input.DeepClone(), output, before.LastSeq + 1, updated.LastSeq, changes.StartedAt, updated.UpdatedAt, snapshot, changed) { Calls = changes.Calls };
            string? json = null;
            try
            {
                var deliveries = changes.Definition is { } definition ? WebhookOutbox.For(updated, definition, changes.Answer, webhookOptions.Value, clock.GetUtcNow(), turnSpan) : [];
                var commit = new TurnCommit(updated, stored.Version, changes.Events, record, answered, deliveries)
                {
                    Files = UploadedFile.Of(changes.Input).Select(f => f.File).ToList(),
                };
                await runs.CommitTurnAsync(commit, cancellationToken);
                hold.Committed();

                // A turn held in memory writes over a lease left in the run (a dead server's) only if it had run out.
                TurnTelemetry.CountTakeover(stored.Lease, hold.Owner, clock.GetUtcNow());
                json = commit.RunJson;
            }
            catch (StoreConflictException)
            {
                SessionsTelemetry.StoreConflicts.Add(1, new KeyValuePair<string, object?>(SessionsTelemetry.StoreWrite, "commit"));
                var current = await runs.GetAsync(before.TenantId, before.Id, CancellationToken.None);
                if (current is not null && RunQueue.OnlyAppended(stored, current))
                {
                    executed = executed with { Queue = [.. executed.Queue, .. RunQueue.AppendedSince(stored, current)] };
                    stored = current;
                    hold.Adopt(current);
                    continue;
                }

                if (hold.OnlyInMemory && !hold.WasCancelled)
                {
                    // Another server's lease in the run is a turn that started there, not one that took this turn's run.
                    throw new RunMovedOnException(current);
                }

                if (hold.WasCancelled || current is { Status: RunStatus.Cancelled } || current?.Lease is { } lease && lease.Owner != hold.Owner)
                {
                    throw TurnRefusals.Cancelled();
                }

                throw TurnRefusals.Conflict("Another turn of this run was committed while this one ran; this turn was not applied. Read the run and retry.");
            }
            catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A commit can fail after the database applied it (the connection dropped before its reply came). Answering
                // "not applied" then would invite a retry that applies the turn twice: the stored run says which it was.
                if (!await LandedAsync(updated, failure))
                {
                    throw;
                }

                logger.LogWarning(failure, "The commit of turn {TurnNumber} of run {RunId} reported a failure but was applied; answering it as committed.", updated.TurnNumber, updated.Id);
                hold.Committed();
            }

            feed.Committed(before.Id);
            if (updated.Queue.Count > 0)
            {
                work.Due();
            }

            return (updated, json);
        }
    }

    /// <summary>Whether the store holds the run as this turn committed it; unknown (the read fails too) is its own answer.</summary>
    private async Task<bool> LandedAsync(RunDocument committed, Exception failure)
    {
        try
        {
            var stored = await runs.GetAsync(committed.TenantId, committed.Id, CancellationToken.None);
            return stored is not null && stored.Version == committed.Version && stored.LastSeq == committed.LastSeq;
        }
        catch (Exception)
        {
            throw new CommitOutcomeUnknownException(committed.Id, committed.TurnNumber, failure);
        }
    }
}
