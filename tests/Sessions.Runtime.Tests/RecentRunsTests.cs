using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Tests;

public class RecentRunsTests
{
    [Fact]
    public void Runs_are_remembered_as_copies_within_their_budget_and_the_oldest_go_first()
    {
        var recent = new RecentRuns(Options.Create(new TurnOptions { RecentRunsMegabytes = 1 }));
        var runs = Enumerable.Range(0, 200).Select(i => Run($"r{i}", new string('x', 10_000))).ToList();
        runs.ForEach(Remember(recent));

        var kept = runs.Where(r => recent.TryGet(r.TenantId, r.Id) is not null).Select(r => r.Id).ToList();
        Assert.InRange(kept.Count, 50, 105);
        Assert.Equal(runs.TakeLast(kept.Count).Select(r => r.Id), kept);

        // A copy, not the object: changing what one turn got changes nothing for the next.
        var copy = recent.TryGet("t", "r199")!.Value.Run;
        copy.Variables["added"] = "by one turn";
        Assert.False(recent.TryGet("t", "r199")!.Value.Run.Variables.ContainsKey("added"));

        recent.Forget("t", "r199");
        Assert.Null(recent.TryGet("t", "r199"));
        Assert.Null(recent.TryGet("other-tenant", "r198"));
    }

    [Fact]
    public void Runs_forgotten_once_finished_do_not_pile_up_in_the_eviction_queue()
    {
        var recent = new RecentRuns(Options.Create(new TurnOptions { RecentRunsMegabytes = 32 }));
        for (var i = 0; i < 20_000; i++)
        {
            Remember(recent)(Run($"r{i}", "short"));
            recent.Forget("t", $"r{i}");
        }

        Remember(recent)(Run("kept", "short"));
        Assert.InRange(recent.QueuedKeys, 1, 2 * 1024);
        Assert.NotNull(recent.TryGet("t", "kept"));
    }

    [Fact]
    public void A_zero_budget_remembers_nothing()
    {
        var recent = new RecentRuns(Options.Create(new TurnOptions { RecentRunsMegabytes = 0 }));
        Remember(recent)(Run("r", "small"));
        Assert.Null(recent.TryGet("t", "r"));
    }

    /// <summary>Remembers a run as its commit would: with the JSON the commit stored.</summary>
    private static Action<RunDocument> Remember(RecentRuns recent) =>
        run => recent.Remember(run, JsonSerializer.Serialize(run, DocumentJson.Options));

    private static RunDocument Run(string id, string note) => new()
    {
        Id = id,
        TenantId = "t",
        WorkflowId = "w",
        VersionNumber = 0,
        Status = RunStatus.WaitingForUserInput,
        Version = 1,
        TurnNumber = 1,
        LastSeq = 3,
        Variables = new JsonObject { ["note"] = note },
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };
}
