using Sessions.Testing;

namespace Sessions.Api.Tests;

public sealed class DurabilityTests
{
    [Fact]
    public async Task A_conversation_survives_a_server_restart_on_the_same_file()
    {
        using var folder = new TempDirectory();
        var path = folder.File("sessions.db");
        string runId;
        long lastSeq;
        using (var first = new SessionsFactory(path))
        {
            var client = first.CreateClient();
            var start = await client.StartAsync(SessionsFactory.SupportTicket);
            runId = start["run_id"]!.GetValue<string>();
            await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "Ada Lovelace");
            var third = await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "ada@example.com");
            lastSeq = third["events"]!.AsArray()[^1]!["seq"]!.GetValue<long>();
        }

        using var second = new SessionsFactory(path);
        var again = second.CreateClient();
        var next = await again.ReplyAsync(SessionsFactory.SupportTicket, runId, "account");
        Assert.Equal(4, next["turn_number"]!.GetValue<int>());
        Assert.Equal(lastSeq + 1, next["events"]!.AsArray()[0]!["seq"]!.GetValue<long>());
        await again.ReplyAsync(SessionsFactory.SupportTicket, runId, "no");
        var done = await again.ReplyAsync(SessionsFactory.SupportTicket, runId, "yes");
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.True(done["is_completed"]!.GetValue<bool>());
        var output = done["events"]!.AsArray()[^1]!["output"]!;
        Assert.Equal("ada@example.com", output["email"]!.GetValue<string>());
        Assert.Equal("account", output["category"]!.GetValue<string>());
        Assert.Equal("P3", output["priority"]!.GetValue<string>());
    }

    [Fact]
    public async Task Samples_are_created_once_across_restarts()
    {
        using var folder = new TempDirectory();
        var path = folder.File("sessions.db");
        for (var i = 0; i < 2; i++)
        {
            using var factory = new SessionsFactory(path);
            var list = await (await factory.CreateClient().GetAsync("/v1/workflows?limit=100")).ReadObjectAsync();
            Assert.Equal(4, list["total"]!.GetValue<int>());
        }
    }
}
