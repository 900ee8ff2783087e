using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// A batch survives the server: SIGKILL it while items' first turns are held in a call on loopback and others wait to
/// start, start it again, and every item ends with exactly one run. A real server process on a real SQLite file.
/// </summary>
public sealed class BatchRestartTests
{
    [Fact]
    public async Task Items_running_or_waiting_when_the_server_is_killed_each_make_one_run_after_it_restarts()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        await using var api = await LoopbackApi.StartAsync("token");
        string[] settings = ["--Sessions:Batches:PollMilliseconds=100", "--Sessions:Batches:ClaimSeconds=2"];
        string workflowId, batchId;
        await using (var doomed = await ServerProcess.StartAsync(database, settings))
        {
            workflowId = await doomed.Client.UploadAsync($$$"""
                { "name": "Held batch", "start": "call", "nodes": [
                  { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/batch-restart", "timeout_seconds": 60, "next": "ask" },
                  { "id": "ask", "type": "ask", "prompt": "Done?", "variable": "x", "next": "ask" } ] }
                """);
            var created = await doomed.Client.PostAsync($"/v1/workflows/{workflowId}/batches?max_concurrency=3", Http.Json("[{},{},{},{},{},{},{},{}]"));
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            batchId = (await created.ReadObjectAsync())["batch_id"]!.GetValue<string>();

            // Three items in their call, five not started: then the worst moment.
            await Eventually.TrueAsync(
                async () => (await (await doomed.Client.GetAsync($"/v1/batches/{batchId}")).ReadObjectAsync())["progress"]!["running"]!.GetValue<int>() == 3,
                "three items are in their call");
            await api.Gate("batch-restart").Arrived;
            doomed.Kill();
        }

        api.Gate("batch-restart").Open();
        await using var survivor = await ServerProcess.StartAsync(database, settings);
        JsonObject batch = null!;
        await Eventually.TrueAsync(
            async () => (batch = await (await survivor.Client.GetAsync($"/v1/batches/{batchId}")).ReadObjectAsync())["status"]!.GetValue<string>() == "completed",
            "the batch completed after the restart",
            60);
        Assert.Equal(8, batch["progress"]!["waiting"]!.GetValue<int>());
        var runIds = batch["items"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()).ToList();
        Assert.Equal(8, runIds.Distinct().Count());

        // One run per item, each with one first turn: none was started twice.
        Assert.Equal(8, (await (await survivor.Client.GetAsync($"/v1/runs?workflow_id={workflowId}&limit=1")).ReadObjectAsync())["total"]!.GetValue<int>());
        foreach (var runId in runIds)
        {
            var run = await (await survivor.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
            Assert.Equal(1, run["turn_number"]!.GetValue<int>());
        }
    }
}
