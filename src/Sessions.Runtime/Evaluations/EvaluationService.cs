using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;
using Sessions.Runtime.Workflows;

namespace Sessions.Runtime.Evaluations;

/// <summary>An evaluation as read back: the batch it is, its items by state, its summary once finished, and a page of results.</summary>
public sealed record EvaluationView(BatchDocument Evaluation, IReadOnlyDictionary<BatchItemState, int> Counts, EvaluationSummary? Summary, IReadOnlyList<BatchItem> Results, int? NextAfter);

/// <summary>
/// Version evaluations: a selection of a workflow's real runs (the run list's filters, newest first or a random sample)
/// replayed with recorded calls on one version, in the background, through the batch work queue (an evaluation is a
/// batch whose items each replay a run; <see cref="BatchWork"/>), then summed up: which conversations the version
/// changes, at which turn, and the differences most runs share.
/// </summary>
public sealed class EvaluationService(IBatchStore store, WorkflowService workflows, IRunStore runs, BatchWork work, IOptions<BatchOptions> options, TimeProvider clock)
{
    /// <summary>The most source runs one evaluation replays.</summary>
    public const int MaxRuns = 1_000;

    /// <summary>How many evaluations of a workflow are listed (and searched for a gate's), newest first.</summary>
    public const int MaxListed = 200;

    /// <summary>How many matching runs a random sample is drawn from.</summary>
    private const int SampleFrom = 10_000;

    /// <summary>Replays an evaluation runs at once unless it says: the machine's other work goes on meanwhile.</summary>
    private const int DefaultConcurrency = 4;

    public async Task<EvaluationView> CreateAsync(
        RunScope scope, string principal, string workflowId, int versionNumber, RunQuery filters, int limit, bool sample, int? maxConcurrency, JsonObject selection, CancellationToken cancellationToken)
    {
        var workflow = await workflows.GetAsync(scope.TenantId, workflowId, cancellationToken);
        await workflows.GetVersionAsync(scope.TenantId, workflowId, versionNumber, cancellationToken);
        var now = clock.GetUtcNow();
        var id = ObjectId.NewId(now).ToString();
        var chosen = await ChooseAsync(scope, filters with { WorkflowId = workflow.Id }, sample ? SampleFrom : limit, cancellationToken);
        if (sample)
        {
            // Seeded by the evaluation's id: the same evaluation always stands for the same sample.
            var random = new Random(id.GetHashCode(StringComparison.Ordinal));
            chosen = [.. chosen.OrderBy(_ => random.Next()).Take(limit).OrderByDescending(r => r.CreatedAt)];
        }

        if (chosen.Count == 0)
        {
            throw new DomainException(ErrorKind.Unprocessable, ProblemCodes.InvalidRequest, "No runs to evaluate", "No run of this workflow matches the selection (forks and replays are never chosen).")
                .With("selection", selection);
        }

        var evaluation = new BatchDocument(
            id, scope.TenantId, workflow.Id, versionNumber, principal, scope.OnlyRunsBy,
            maxConcurrency ?? Math.Min(DefaultConcurrency, options.Value.DefaultConcurrency), chosen.Count, BatchStatus.Running, 1, now, now)
        {
            Kind = BatchKind.Evaluation,
            Selection = selection,
        };
        var items = chosen.Select((run, index) => new BatchItem(id, scope.TenantId, index, new JsonObject { ["source_run_id"] = run.Id }, BatchItemState.Pending, 1)).ToList();
        await store.CreateAsync(evaluation, items, cancellationToken);
        work.Wake();
        return new EvaluationView(evaluation, new Dictionary<BatchItemState, int> { [BatchItemState.Pending] = items.Count }, null, [], null);
    }

    /// <summary>The evaluation, its summary once every run is replayed, and the results after <paramref name="afterIndex"/>.</summary>
    public async Task<EvaluationView> GetAsync(RunScope scope, string workflowId, int versionNumber, string evaluationId, int afterIndex, int limit, CancellationToken cancellationToken)
    {
        var evaluation = await store.GetAsync(scope.TenantId, evaluationId, cancellationToken) is { Kind: BatchKind.Evaluation } found
            && found.WorkflowId == workflowId && found.VersionNumber == versionNumber && scope.Owns(found.TenantId, found.RunBy)
                ? found
                : throw ProblemCodes.NotFound(ProblemCodes.EvaluationNotFound, "Evaluation", evaluationId);
        var counts = await store.CountItemsAsync(evaluation.TenantId, evaluation.Id, cancellationToken);
        var summary = await SummaryAsync(store, evaluation, cancellationToken);
        var page = await store.ListItemsAsync(evaluation.TenantId, evaluation.Id, afterIndex, limit + 1, openOnly: false, cancellationToken);
        return new EvaluationView(evaluation, counts, summary, [.. page.Take(limit)], page.Count > limit ? page[limit - 1].Index : null);
    }

    /// <summary>The workflow's evaluations, newest first, each with its items by state.</summary>
    public async Task<IReadOnlyList<EvaluationView>> ListAsync(RunScope scope, string workflowId, CancellationToken cancellationToken)
    {
        var workflow = await workflows.GetAsync(scope.TenantId, workflowId, cancellationToken);
        var views = new List<EvaluationView>();
        foreach (var evaluation in (await store.ListAsync(scope.TenantId, workflow.Id, BatchKind.Evaluation, MaxListed, cancellationToken)).Where(e => scope.Owns(e.TenantId, e.RunBy)))
        {
            var summary = await SummaryAsync(store, evaluation, cancellationToken);
            views.Add(new EvaluationView(evaluation, await store.CountItemsAsync(evaluation.TenantId, evaluation.Id, cancellationToken), summary, [], null));
        }

        return views;
    }

    /// <summary>
    /// What a finished evaluation found: as it was kept when it finished, or, for one that never finished (cancelled)
    /// or finished before summaries were kept, summed up from its items now. None while it runs.
    /// </summary>
    internal static async Task<EvaluationSummary?> SummaryAsync(IBatchStore store, BatchDocument evaluation, CancellationToken cancellationToken) =>
        evaluation.Status == BatchStatus.Running ? null
        : evaluation.Summary?.Deserialize<EvaluationSummary>(DocumentJson.Options)
            ?? EvaluationResults.Summarize(await AllItemsAsync(store, evaluation, cancellationToken));

    /// <summary>Every item of an evaluation, in order (at most <see cref="MaxRuns"/>).</summary>
    internal static async Task<IReadOnlyList<BatchItem>> AllItemsAsync(IBatchStore store, BatchDocument evaluation, CancellationToken cancellationToken)
    {
        var all = new List<BatchItem>();
        for (var after = -1; ;)
        {
            var page = await store.ListItemsAsync(evaluation.TenantId, evaluation.Id, after, 500, openOnly: false, cancellationToken);
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }

            after = page[^1].Index;
        }
    }

    /// <summary>Up to <paramref name="most"/> runs that match, newest first: started by people or clients, not forks or replays.</summary>
    private async Task<List<RunDocument>> ChooseAsync(RunScope scope, RunQuery filters, int most, CancellationToken cancellationToken)
    {
        var chosen = new List<RunDocument>();
        for (var page = 1; chosen.Count < most; page++)
        {
            var found = await runs.ListAsync(scope.TenantId, scope.Restrict(filters with { Page = page, Limit = 100, IncludeDeleted = false }), cancellationToken);
            chosen.AddRange(found.Items.Select(s => s.Run).Where(r => r.Origin is null).Take(most - chosen.Count));
            if (found.Items.Count < 100)
            {
                break;
            }
        }

        return chosen;
    }
}
