using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Deliveries survive the server: SIGKILL it while deliveries are failing and pending, start it again, and each is
/// made, under the id its first attempts had. A real server process on a real SQLite file and a real receiver.
/// </summary>
public sealed class WebhookRestartTests
{
    [Fact]
    public async Task Deliveries_pending_when_the_server_is_killed_are_made_after_it_restarts_under_their_ids()
    {
        await using var receiver = await WebhookReceiver.StartAsync("unused");
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        // A delivery claimed at the moment of the kill comes due again when its claim runs out: a short claim keeps
        // that inside the test's wait (the receiver answers at once, so no attempt outlives it).
        string[] settings = ["--Sessions:Webhooks:AllowPrivateNetworks=true", "--Sessions:Webhooks:PollMilliseconds=100", "--Sessions:Webhooks:ClaimSeconds=2"];
        receiver.FailNext("down", int.MaxValue);
        var runIds = new List<string>();
        await using (var doomed = await ServerProcess.StartAsync(database, settings))
        {
            var workflowId = await doomed.Client.UploadAsync($$$"""
                { "name": "Hooked", "start": "done", "webhooks": [{ "url": "{{{receiver.Address}}}down" }],
                  "nodes": [ { "id": "done", "type": "end" } ] }
                """);
            for (var i = 0; i < 5; i++)
            {
                runIds.Add((await doomed.Client.StartAsync(workflowId))["run_id"]!.GetValue<string>());
            }

            // Every delivery has been tried (and failed) at least once before the kill.
            await Eventually.TrueAsync(() => Task.FromResult(receiver.To("down").Select(r => r.Id).Distinct().Count() == 5), "each delivery was tried");
            doomed.Kill();
        }

        var triedIds = receiver.To("down").Select(r => r.Id).ToHashSet();
        receiver.FailNext("down", 0);
        await using var survivor = await ServerProcess.StartAsync(database, settings);
        await Eventually.TrueAsync(
            () => Task.FromResult(receiver.To("down").Where(r => r.Answered == 204).Select(r => r.Id).Distinct().Count() == 5),
            "every delivery made after the restart");
        Assert.Equal(triedIds, receiver.To("down").Where(r => r.Answered == 204).Select(r => r.Id).ToHashSet());
        foreach (var runId in runIds)
        {
            // The receiver answered before the server recorded it: the log catches up.
            await Eventually.TrueAsync(
                async () => (await (await survivor.Client.GetAsync($"/v1/runs/{runId}/webhook-deliveries")).ReadObjectAsync())["deliveries"]!.AsArray().Single()!["state"]!.GetValue<string>() == "delivered",
                $"the log of run {runId} shows its delivery made");
        }
    }
}
