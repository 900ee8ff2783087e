using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.Tests;

public class RunLeasesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly RunDocument Run = new()
    {
        Id = "r1",
        TenantId = "t1",
        WorkflowId = "w1",
        VersionNumber = 0,
        Status = RunStatus.WaitingForUserInput,
        Version = 4,
        TurnNumber = 2,
        LastSeq = 9,
        Variables = new JsonObject(),
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    [Fact]
    public void A_run_without_a_lease_may_be_taken_by_anyone()
    {
        Assert.True(RunLeases.MayTake(Run, "a", T0));
    }

    [Fact]
    public void A_live_lease_keeps_others_out_until_it_expires_but_not_its_owner()
    {
        var held = RunLeases.Taken(Run, new TurnLease("a", T0.AddSeconds(30)));
        Assert.False(RunLeases.MayTake(held, "b", T0.AddSeconds(29.999)));
        Assert.True(RunLeases.MayTake(held, "a", T0.AddSeconds(10)));
        Assert.True(RunLeases.MayTake(held, "b", T0.AddSeconds(30)));
    }

    [Fact]
    public void Taking_and_giving_back_are_each_a_new_version_that_changes_nothing_else()
    {
        var held = RunLeases.Taken(Run, new TurnLease("a", T0.AddSeconds(30)));
        Assert.Equal((5L, "a"), (held.Version, held.Lease!.Owner));
        var released = RunLeases.Released(held);
        Assert.Equal((6L, null), (released.Version, released.Lease));
        Assert.Equal(Run with { Version = 6 }, released);
    }
}
