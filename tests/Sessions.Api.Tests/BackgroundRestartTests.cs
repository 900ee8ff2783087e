using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Background turns survive the server: SIGKILL it while some run (held in a call on loopback) and others wait for a
/// worker, start it again, and every accepted turn runs to its commit exactly once. A real server process on a real
/// SQLite file.
/// </summary>
public sealed class BackgroundRestartTests
{
    [Fact]
    public async Task Background_turns_running_or_queued_when_the_server_is_killed_each_commit_once_after_it_restarts()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        await using var api = await LoopbackApi.StartAsync("token");
        var runIds = new List<string>();
        string workflowId;
        await using (var doomed = await ServerProcess.StartAsync(database, "--Sessions:Workers:Concurrency=3"))
        {
            workflowId = await doomed.Client.UploadAsync($$$"""
                { "name": "Held", "start": "call", "nodes": [
                  { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/restart", "timeout_seconds": 60, "next": "ask" },
                  { "id": "ask", "type": "ask", "prompt": "Done?", "variable": "x", "next": "ask" } ] }
                """);
            for (var i = 0; i < 8; i++)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute") { Content = Http.Json("{}") };
                request.Headers.Add("Prefer", "respond-async");
                var accepted = await doomed.Client.SendAsync(request);
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
                runIds.Add((await accepted.ReadObjectAsync())["run_id"]!.GetValue<string>());
            }

            // Three in the call (the worker's concurrency), five waiting for a worker: then the worst moment.
            await Eventually.TrueAsync(
                async () => (await Task.WhenAll(runIds.Select(async id => (await (await doomed.Client.GetAsync($"/v1/runs/{id}")).ReadObjectAsync())["progress"]?["current_node"]?.GetValue<string>())))
                    .Count(node => node == "call") == 3,
                "three turns are in their call");
            doomed.Kill();
        }

        api.Gate("restart").Open();
        await using var survivor = await ServerProcess.StartAsync(database);
        foreach (var runId in runIds)
        {
            JsonObject run = null!;
            await Eventually.TrueAsync(
                async () => (run = await (await survivor.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>() == "waiting_for_user_input",
                $"run {runId} ran its background turn after the restart");
            Assert.Equal(1, run["turn_number"]!.GetValue<int>());
            var events = run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()).ToList();
            Assert.Single(events, e => e!["type"]!.GetValue<string>() == "start_workflow");
            Assert.Single(events, e => e!["type"]!.GetValue<string>() == "http_request");
            var joined = await survivor.Client.GetAsync($"/v1/runs/{runId}/turns/1/result");
            Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        }
    }
}
