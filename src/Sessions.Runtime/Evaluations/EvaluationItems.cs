using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Recordings;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Evaluations;

/// <summary>
/// An evaluation's items as the batch work queue runs them: each one a recorded replay of its source run on the
/// evaluated version, settled with what the replay found; the evaluation keeps its summary as it finishes.
/// </summary>
public sealed class EvaluationItems(RunFacade runs, IBatchStore store) : IBatchItemKind
{
    public BatchKind Kind => BatchKind.Evaluation;

    /// <remarks>
    /// A replay whose server died is made again when the claim runs out: it calls nothing outside (its calls come from
    /// the recording, and it stops before any other), so doing it twice leaves one more replay run and the same result.
    /// </remarks>
    public async Task<BatchItem> RunAsync(BatchDocument evaluation, BatchItem item)
    {
        var source = item.Input["source_run_id"]!.GetValue<string>();
        try
        {
            var report = await runs.ReplayAsync(new RunScope(evaluation.TenantId), source, evaluation.VersionNumber, CallReplayMode.Recorded, CancellationToken.None);
            return item with
            {
                State = BatchItemState.Completed,
                RunId = report.ReplayRunId,
                RunStatus = report.Turns.LastOrDefault(t => t.After is { Code: null })?.After?.Status,
                Output = EvaluationResults.Of(source, report),
            };
        }
        catch (DomainException refused)
        {
            return item with { State = BatchItemState.Failed, Error = $"{refused.Title}: {refused.Message}" };
        }
    }

    /// <summary>Kept as it finishes, so reading it back, listing evaluations and asking a gate need none of its items.</summary>
    public async Task<JsonObject?> SummarizeAsync(BatchDocument evaluation, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeToNode(EvaluationResults.Summarize(await EvaluationService.AllItemsAsync(store, evaluation, cancellationToken)), DocumentJson.Options)!.AsObject();
}
