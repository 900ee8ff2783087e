using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Timers survive the server: SIGKILL it while timers are pending, let their deadlines pass while it is down, start
/// it again, and every timer fires, once. A real server process on a real SQLite file, so real time: a second.
/// </summary>
public sealed class TimerRestartTests
{
    [Fact]
    public async Task Timers_pending_when_the_server_is_killed_fire_once_after_it_restarts()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        var runIds = new List<string>();
        string workflowId;
        await using (var doomed = await ServerProcess.StartAsync(database))
        {
            workflowId = await doomed.Client.UploadAsync("""
                { "name": "Back soon", "start": "hold", "nodes": [
                  { "id": "hold", "type": "pause", "resume_after_seconds": 1, "next": "back" },
                  { "id": "back", "type": "say", "text": "I'm back.", "next": "done" },
                  { "id": "done", "type": "end" } ] }
                """);
            for (var i = 0; i < 5; i++)
            {
                var started = await doomed.Client.StartAsync(workflowId);
                Assert.Equal("paused", started["status"]!.GetValue<string>());
                runIds.Add(started["run_id"]!.GetValue<string>());
            }

            doomed.Kill();
        }

        // Down past every deadline: nothing can fire them but the next server.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var survivor = await ServerProcess.StartAsync(database);
        foreach (var runId in runIds)
        {
            JsonObject run = null!;
            await Eventually.TrueAsync(
                async () => (run = await (await survivor.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>() == "completed",
                $"run {runId} resumed after the restart");
            var events = run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()).ToList();
            Assert.Single(events, e => e!["type"]!.GetValue<string>() == "timer_fired");
            Assert.Single(events, e => e!["text"]?.GetValue<string>() == "I'm back.");
            Assert.Equal(2, run["turn_number"]!.GetValue<int>());
        }
    }
}
