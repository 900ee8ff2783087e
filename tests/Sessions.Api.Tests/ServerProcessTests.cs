using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// The server as a newcomer runs it: its own process on Kestrel, loopback only, configured by its appsettings.json.
/// Killing it with SIGKILL between turns must lose nothing that was answered.
/// </summary>
public sealed class ServerProcessTests
{
    [Fact]
    public async Task The_real_server_prints_ready_curl_lines_and_a_killed_server_loses_no_answered_turn()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        string runId;
        long lastSeq;

        await using (var first = await ServerProcess.StartAsync(database))
        {
            Assert.StartsWith("http://127.0.0.1:", first.Address.ToString());
            foreach (var id in new[] { SessionsFactory.OrderStatus, SessionsFactory.SupportTicket, SessionsFactory.AppointmentBooking })
            {
                Assert.Contains($"curl -s -X POST {first.Address.ToString().TrimEnd('/')}/v1/workflows/{id}/execute -H 'Content-Type: application/json' -d '{{}}'", first.Output);
            }

            var client = first.Client;
            runId = (await client.StartAsync(SessionsFactory.SupportTicket))["run_id"]!.GetValue<string>();
            await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "Ada Lovelace");
            var answered = await client.ReplyAsync(SessionsFactory.SupportTicket, runId, "ada@example.com");
            lastSeq = answered["events"]!.AsArray()[^1]!["seq"]!.GetValue<long>();
            first.Kill();
        }

        await using var second = await ServerProcess.StartAsync(database);
        var next = await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "billing");
        Assert.Equal(4, next["turn_number"]!.GetValue<int>());
        Assert.Equal(lastSeq + 1, next["events"]!.AsArray()[0]!["seq"]!.GetValue<long>());
        await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "no");
        var done = await second.Client.ReplyAsync(SessionsFactory.SupportTicket, runId, "yes");
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal(6, done["turn_number"]!.GetValue<int>());
    }
}
