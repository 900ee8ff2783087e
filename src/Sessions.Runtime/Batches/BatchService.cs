using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.History;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Workflows;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Batches;

/// <summary>A batch as read back: the batch, and how many of its items are in each state.</summary>
public sealed record BatchView(BatchDocument Batch, IReadOnlyDictionary<BatchItemState, int> Counts);

/// <summary>
/// Batches for their clients: one run per input item, started by the work queue (<see cref="BatchWork"/>), read back
/// with their progress and each item's result, and cancelled. A batch is its creator's like the runs it starts: a viewer
/// sees only its own.
/// </summary>
public sealed class BatchService(IBatchStore store, WorkflowService workflows, RunFacade runs, BatchWork work, IOptions<BatchOptions> options, TimeProvider clock)
{
    public int MaxItems => options.Value.MaxItems;

    public async Task<BatchView> CreateAsync(
        RunScope scope, string principal, string? runBy, string workflowId, int? versionNumber, int? maxConcurrency, IReadOnlyList<JsonObject> inputs, CancellationToken cancellationToken)
    {
        if (inputs.Count == 0 || inputs.Count > options.Value.MaxItems)
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidBatch, "Invalid batch", $"A batch has 1 to {options.Value.MaxItems} items; this one has {inputs.Count}.");
        }

        var workflow = await workflows.GetAsync(scope.TenantId, workflowId, cancellationToken);
        if (versionNumber is { } version)
        {
            await workflows.GetVersionAsync(scope.TenantId, workflowId, version, cancellationToken);
        }

        var now = clock.GetUtcNow();
        var batch = new BatchDocument(
            ObjectId.NewId(now).ToString(), scope.TenantId, workflow.Id, versionNumber, principal, runBy,
            maxConcurrency ?? options.Value.DefaultConcurrency, inputs.Count, BatchStatus.Running, 1, now, now);
        var items = inputs.Select((input, index) => new BatchItem(batch.Id, batch.TenantId, index, input, BatchItemState.Pending, 1)).ToList();
        await store.CreateAsync(batch, items, cancellationToken);
        work.Wake();
        return new BatchView(batch, new Dictionary<BatchItemState, int> { [BatchItemState.Pending] = items.Count });
    }

    public async Task<BatchView> GetAsync(RunScope scope, string batchId, CancellationToken cancellationToken)
    {
        var batch = await FindAsync(scope, batchId, cancellationToken);
        return new BatchView(batch, await store.CountItemsAsync(batch.TenantId, batch.Id, cancellationToken));
    }

    /// <summary>A page of the batch's items, in order.</summary>
    public async Task<IReadOnlyList<BatchItem>> ListItemsAsync(RunScope scope, string batchId, int afterIndex, int limit, CancellationToken cancellationToken)
    {
        var batch = await FindAsync(scope, batchId, cancellationToken);
        return await store.ListItemsAsync(batch.TenantId, batch.Id, afterIndex, limit, openOnly: false, cancellationToken);
    }

    /// <summary>
    /// Cancels the batch: no item starts from now on (those not started are `cancelled`), and the runs of items that
    /// wait for input are cancelled. An item whose first turn runs now finishes it; its run is then left as it is.
    /// </summary>
    public async Task<BatchView> CancelAsync(RunScope scope, string batchId, CancellationToken cancellationToken)
    {
        var batch = await FindAsync(scope, batchId, cancellationToken);
        while (batch.Status == BatchStatus.Running)
        {
            var now = clock.GetUtcNow();
            var cancelled = batch with { Status = BatchStatus.Cancelled, Version = batch.Version + 1, UpdatedAt = now, FinishedAt = now };
            if (await store.TryReplaceAsync(cancelled, batch.Version, cancellationToken))
            {
                batch = cancelled;
                break;
            }

            batch = await FindAsync(scope, batchId, cancellationToken);
        }

        var waiting = new List<BatchItem>();
        for (var after = -1; ;)
        {
            var page = await store.ListItemsAsync(batch.TenantId, batch.Id, after, 500, openOnly: false, cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var item in page)
            {
                if (item.State == BatchItemState.Pending)
                {
                    await store.TryReplaceItemAsync(item with { State = BatchItemState.Cancelled, Version = item.Version + 1 }, item.Version, cancellationToken);
                }
                else if (item.State == BatchItemState.Waiting && item.RunId is not null)
                {
                    waiting.Add(item);
                }
            }

            after = page[^1].Index;
        }

        var results = (await runs.CancelAsync(new RunScope(batch.TenantId), waiting.Select(i => i.RunId!).ToList(), "batch cancelled", cancellationToken))
            .ToDictionary(r => r.RunId, r => r.Outcome);
        foreach (var item in waiting.Where(i => results.GetValueOrDefault(i.RunId!) == CancelOutcome.Cancelled))
        {
            // The item shows what came of its run: cancelled now.
            await store.TryReplaceItemAsync(item with { State = BatchItemState.Cancelled, RunStatus = "cancelled", Version = item.Version + 1 }, item.Version, cancellationToken);
        }

        return new BatchView(batch, await store.CountItemsAsync(batch.TenantId, batch.Id, cancellationToken));
    }

    private async Task<BatchDocument> FindAsync(RunScope scope, string batchId, CancellationToken cancellationToken) =>
        await store.GetAsync(scope.TenantId, batchId, cancellationToken) is { Kind: BatchKind.Runs } batch && scope.Owns(batch.TenantId, batch.RunBy)
            ? batch
            : throw ProblemCodes.NotFound(ProblemCodes.BatchNotFound, "Batch", batchId);
}
