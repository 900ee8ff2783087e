using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Runtime.Tests;

public class RunScopeTests
{
    [Fact]
    public void A_viewer_sees_only_its_own_runs_of_its_tenant_and_others_see_the_tenants()
    {
        var adas = Run("acme", "ada");
        Assert.True(new RunScope("acme").CanSee(adas));
        Assert.True(new RunScope("acme", "ada").CanSee(adas));
        Assert.False(new RunScope("acme", "bob").CanSee(adas));
        Assert.False(new RunScope("globex").CanSee(adas));
        Assert.False(new RunScope("acme", "bob").CanSee(Run("acme", null)));
    }

    [Fact]
    public void A_viewers_queries_are_limited_to_its_own_runs_and_asking_for_anothers_is_refused()
    {
        Assert.Equal("ada", new RunScope("acme", "ada").Restrict(new RunQuery()).RunBy);
        Assert.Equal("ada", new RunScope("acme", "ada").Restrict(new RunQuery { RunBy = "ada" }).RunBy);
        Assert.Equal("bob", new RunScope("acme").Restrict(new RunQuery { RunBy = "bob" }).RunBy);
        var refused = Assert.Throws<DomainException>(() => new RunScope("acme", "ada").Restrict(new RunQuery { RunBy = "bob" }));
        Assert.Equal(ProblemCodes.Forbidden, refused.Code);
    }

    private static RunDocument Run(string tenant, string? runBy) => new()
    {
        Id = "66a1f0000000000000000099",
        TenantId = tenant,
        WorkflowId = "w",
        VersionNumber = 0,
        Status = RunStatus.WaitingForUserInput,
        Version = 1,
        TurnNumber = 1,
        LastSeq = 3,
        RunBy = runBy,
        Variables = new JsonObject(),
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };
}
