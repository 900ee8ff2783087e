using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Batches;

/// <summary>
/// Starts batches' items, at most each batch's `max_concurrency` at a time, in order. An item is claimed with a
/// version-checked write that also dates the claim; its run's first turn then runs under an idempotency key that is the
/// item's own (batch id and index, under the batch creator's principal), so however often the item is started (its
/// server died mid-turn and its claim ran out, two servers raced for it) it makes one run, and a start after the turn
/// committed gets that turn's answer. The item is then settled with how the turn left its run. A batch whose items are
/// all settled is completed.
/// </summary>
public sealed class BatchWork(IBatchStore store, RunFacade runs, IEnumerable<IBatchItemKind> kinds, IOptions<BatchOptions> options, TimeProvider clock, ILogger<BatchWork> logger)
{
    private readonly ConcurrentDictionary<(string BatchId, int Index), bool> working = new();
    private readonly WorkSignal signal = new();

    /// <summary>Looks at once: a batch was created, or an item finished and another may start.</summary>
    public void Wake() => signal.Due();

    public Task NextAsync() => signal.NextAsync();

    /// <summary>One look: claims and starts the items that may start now. Returns at once, with their turns running.</summary>
    public async Task<IReadOnlyList<Task>> StartDueAsync(CancellationToken cancellationToken)
    {
        var started = new List<Task>();
        foreach (var batch in await store.ListRunningAsync(100, cancellationToken))
        {
            // Items start in order, so those in flight are among the first open ones.
            var open = await store.ListItemsAsync(batch.TenantId, batch.Id, -1, batch.MaxConcurrency * 2, openOnly: true, cancellationToken);
            var now = clock.GetUtcNow();
            if (open.Count == 0)
            {
                // A batch of another kind keeps what it came to as it finishes (an evaluation's summary).
                var summary = Other(batch) is { } kind ? await kind.SummarizeAsync(batch, cancellationToken) : null;
                await store.TryReplaceAsync(batch with { Status = BatchStatus.Completed, Version = batch.Version + 1, UpdatedAt = now, FinishedAt = now, Summary = summary }, batch.Version, cancellationToken);
                continue;
            }

            var inFlight = open.Count(i => i.State == BatchItemState.Running && i.ClaimedUntil > now);
            foreach (var item in open.Where(i => i.State == BatchItemState.Pending || i.ClaimedUntil <= now).Take(Math.Max(0, batch.MaxConcurrency - inFlight)))
            {
                if (!working.TryAdd((batch.Id, item.Index), true))
                {
                    continue;
                }

                var claimed = item with { State = BatchItemState.Running, Version = item.Version + 1, ClaimedUntil = now + options.Value.Claim };
                if (!await store.TryReplaceItemAsync(claimed, item.Version, cancellationToken))
                {
                    working.TryRemove((batch.Id, item.Index), out _);
                    continue;
                }

                started.Add(Task.Run(() => RunItemAsync(batch, claimed), CancellationToken.None));
            }
        }

        return started;
    }

    private async Task RunItemAsync(BatchDocument batch, BatchItem item)
    {
        try
        {
            var settled = Other(batch) is { } kind ? await kind.RunAsync(batch, item) : await TakeFirstTurnAsync(batch, item);
            if (settled is not null && !await store.TryReplaceItemAsync(settled with { Version = item.Version + 1, ClaimedUntil = null }, item.Version, CancellationToken.None))
            {
                logger.LogDebug("Batch {BatchId} item {Index} changed while its turn ran; its result is not recorded again", batch.Id, item.Index);
            }
        }
        catch (Exception ex)
        {
            // Its claim runs out and the item is started again, under its key: the turn is not taken twice.
            logger.LogWarning(ex, "Batch {BatchId} item {Index} could not be started; it is tried again when its claim runs out", batch.Id, item.Index);
        }
        finally
        {
            working.TryRemove((batch.Id, item.Index), out _);
            Wake();
        }
    }

    /// <summary>The work of a batch whose items do something else than start runs; none for a batch of runs.</summary>
    private IBatchItemKind? Other(BatchDocument batch) =>
        batch.Kind == BatchKind.Runs ? null
        : kinds.FirstOrDefault(k => k.Kind == batch.Kind) ?? throw new InvalidOperationException($"No work is registered for batches of kind {batch.Kind}.");

    /// <summary>The item as its run's first turn left it; null when another server is taking that turn now.</summary>
    private async Task<BatchItem?> TakeFirstTurnAsync(BatchDocument batch, BatchItem item)
    {
        var input = (JsonObject)item.Input.DeepClone();
        var request = new TurnRequest
        {
            TenantId = batch.TenantId,
            WorkflowId = batch.WorkflowId,
            VersionNumber = batch.VersionNumber,
            DynamicVariables = (JsonObject)input.DeepClone(),
            RunBy = batch.RunBy,
            RecordedInput = new JsonObject { ["dynamic_variables"] = input, ["batch"] = new JsonObject { ["batch_id"] = batch.Id, ["index"] = item.Index } },
        };
        var key = IdempotentTurns.ScopeKey(batch.Principal, $"batch:{batch.Id}:{item.Index}");
        var hash = IdempotentTurns.HashRequest(batch.WorkflowId, "batch", Encoding.UTF8.GetBytes(JsonText.Serialize(item.Input)));
        var taken = await runs.TakeTurnAsync(new TurnCall(request) { Idempotency = (key, hash) }, CancellationToken.None);
        switch (taken)
        {
            case TurnTaken.Refused { Reason.Code: ProblemCodes.IdempotencyKeyInFlight }:
                return null;
            case TurnTaken.Refused refused:
                return item with { State = BatchItemState.Failed, Error = $"{refused.Reason.Title}: {refused.Reason.Message}" };
        }

        var answer = JsonText.ParseStored(taken is TurnTaken.Ran ran ? ran.Outcome.Answer! : ((TurnTaken.Replayed)taken).Answer)!;
        var runId = answer["run_id"]!.GetValue<string>();
        var status = RunStatusNames.FromWire(answer["status"]!.GetValue<string>());
        var run = taken is TurnTaken.Ran done ? done.Outcome.Run : await runs.FindRunAsync(new RunScope(batch.TenantId), runId, CancellationToken.None);
        return item with
        {
            State = status switch
            {
                RunStatus.Completed => BatchItemState.Completed,
                RunStatus.WaitingForUserInput or RunStatus.Paused => BatchItemState.Waiting,
                RunStatus.Cancelled => BatchItemState.Cancelled,
                _ => BatchItemState.Failed,
            },
            RunId = runId,
            RunStatus = status.ToWire(),
            Output = run?.Output?.DeepClone(),
            Error = answer["error"]?.GetValue<string>(),
        };
    }
}
