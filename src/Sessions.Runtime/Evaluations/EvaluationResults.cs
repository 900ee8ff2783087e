using System.Text.Json.Nodes;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Branching;

namespace Sessions.Runtime.Evaluations;

/// <summary>
/// What an evaluation found once every run is replayed: how many runs came out each way (<see cref="EvaluationOutcomes"/>),
/// how many were replayed at all, the share of those that changed (diverged, refused or stopped: what an evaluation gate
/// holds to), the turn each changed run first diverged at, and the differences most runs share, by node and field.
/// </summary>
public sealed record EvaluationSummary(
    IReadOnlyDictionary<string, int> Counts,
    int Replayed,
    double DivergedPercent,
    IReadOnlyList<DivergedAt> FirstDivergentTurns,
    IReadOnlyList<DifferenceGroup> Differences);

/// <summary>How many runs first diverged at a turn.</summary>
public sealed record DivergedAt(int Turn, int Runs);

/// <summary>
/// One kind of difference and how many runs show it: the node (the call's, or the one the source turn ended waiting at)
/// and the field (`said`, `status`, `next_input_hint`, `variables.NAME`, or a call's divergence such as `request_changed`).
/// </summary>
public sealed record DifferenceGroup(string? NodeId, string Field, int Runs, string ExampleRunId);

/// <summary>How one source run came out of its recorded replay on the evaluated version.</summary>
public static class EvaluationOutcomes
{
    /// <summary>Every turn as the source had it.</summary>
    public const string Unchanged = "unchanged";

    /// <summary>At least one turn differs (or made a call the recording could not answer, and went on live).</summary>
    public const string Diverged = "diverged";

    /// <summary>The version refused one of the source's inputs.</summary>
    public const string Refused = "refused";

    /// <summary>The replay stopped before a call it could not answer from the recording.</summary>
    public const string Stopped = "stopped";

    /// <summary>The source could not be replayed at all (deleted meanwhile, say): the item's `error` says why.</summary>
    public const string Failed = "failed";

    public static readonly string[] All = [Unchanged, Diverged, Refused, Stopped, Failed];
}

/// <summary>
/// What an evaluation keeps of each replay (on its item: the replay run, the outcome, the turn it first diverged at,
/// and each difference as `{turn, node_id, field}`) and what it says of them all once done: how many of each outcome,
/// where runs first diverged, and the most common differences grouped by node and field.
/// </summary>
public static class EvaluationResults
{
    /// <summary>The most difference groups a summary lists.</summary>
    public const int MaxGroups = 20;

    public static JsonObject Of(string sourceRunId, ReplayReport report)
    {
        var outcome = report.Stopped is not null ? EvaluationOutcomes.Stopped
            : report.Turns.Any(t => t.After?.Status == ReplayService.Rejected) ? EvaluationOutcomes.Refused
            : report.Diverged ? EvaluationOutcomes.Diverged
            : EvaluationOutcomes.Unchanged;
        var differences = new JsonArray();
        foreach (var turn in report.Turns.Where(t => t.Diverged))
        {
            // A call's divergence is the call's node's; another difference is put at the node the source turn ended on.
            foreach (var call in turn.Calls.Divergences)
            {
                differences.Add(Difference(turn.TurnNumber, call.NodeId, call.Kind));
            }

            var endedAt = turn.Before.NextInputHint?["node_id"]?.GetValue<string>();
            foreach (var difference in turn.Differences)
            {
                differences.Add(Difference(turn.TurnNumber, endedAt, difference.Field));
            }
        }

        return new JsonObject
        {
            ["source_run_id"] = sourceRunId,
            ["replay_run_id"] = report.ReplayRunId,
            ["outcome"] = outcome,
            ["first_divergent_turn"] = report.FirstDivergentTurn,
            ["turns"] = report.Turns.Count,
            ["differences"] = differences,
        };
    }

    /// <summary>The outcome an item stands for: its replay's, or `failed` when it could not be replayed.</summary>
    public static string OutcomeOf(BatchItem item) =>
        item.Output?["outcome"]?.GetValue<string>() ?? EvaluationOutcomes.Failed;

    /// <summary>The summary of settled <paramref name="items"/>: counts by outcome, first divergent turns, grouped differences.</summary>
    public static EvaluationSummary Summarize(IReadOnlyList<BatchItem> items)
    {
        var settled = items.Where(i => i.State is BatchItemState.Completed or BatchItemState.Failed).ToList();
        var counts = EvaluationOutcomes.All.ToDictionary(o => o, o => settled.Count(i => OutcomeOf(i) == o));
        var replayed = settled.Count(i => OutcomeOf(i) != EvaluationOutcomes.Failed);
        var changed = settled.Count(i => OutcomeOf(i) is EvaluationOutcomes.Diverged or EvaluationOutcomes.Refused or EvaluationOutcomes.Stopped);
        var firstTurns = settled
            .Select(i => i.Output?["first_divergent_turn"]?.GetValue<int>())
            .OfType<int>()
            .GroupBy(t => t)
            .OrderBy(g => g.Key)
            .Select(g => new DivergedAt(g.Key, g.Count()))
            .ToList();
        var groups = settled
            .SelectMany(i => (i.Output?["differences"]?.AsArray() ?? []).Select(d => (
                Node: d!["node_id"]?.GetValue<string>(),
                Field: d["field"]!.GetValue<string>(),
                Run: i.Input["source_run_id"]!.GetValue<string>())))
            .GroupBy(d => (d.Node, d.Field))
            .Select(g => (g.Key, Runs: g.Select(d => d.Run).Distinct(StringComparer.Ordinal).ToList()))
            .OrderByDescending(g => g.Runs.Count)
            .ThenBy(g => g.Key.Node, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Field, StringComparer.Ordinal)
            .Take(MaxGroups)
            .Select(g => new DifferenceGroup(g.Key.Node, g.Key.Field, g.Runs.Count, g.Runs[0]))
            .ToList();
        return new EvaluationSummary(counts, replayed, replayed == 0 ? 0 : Math.Round(100.0 * changed / replayed, 1), firstTurns, groups);
    }

    private static JsonObject Difference(int turn, string? nodeId, string field) =>
        new() { ["turn"] = turn, ["node_id"] = nodeId, ["field"] = field };
}
