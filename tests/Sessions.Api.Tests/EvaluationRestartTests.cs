using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// An evaluation survives its server: SIGKILL it while replays are being made, start it again on the same SQLite file,
/// and the evaluation completes with every source run's result recorded once. A real server process.
/// </summary>
public sealed class EvaluationRestartTests
{
    private const int Runs = 150;

    [Fact]
    public async Task Replays_in_flight_or_waiting_when_the_server_is_killed_are_each_settled_once_after_it_restarts()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        string[] settings = ["--Sessions:Batches:PollMilliseconds=100", "--Sessions:Batches:ClaimSeconds=2"];
        string workflowId, evaluationId;
        await using (var doomed = await ServerProcess.StartAsync(database, settings))
        {
            workflowId = await doomed.Client.UploadAsync("""
                { "name": "Counting talk", "start": "ask", "variables": { "n": 0 }, "nodes": [
                  { "id": "ask", "type": "ask", "prompt": "Say something ({{n}} so far)", "variable": "said", "next": "count" },
                  { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "echo" },
                  { "id": "echo", "type": "say", "text": "You said {{said}}", "next": "ask" } ] }
                """);
            for (var i = 0; i < Runs; i++)
            {
                var runId = (await doomed.Client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
                for (var turn = 0; turn < 4; turn++)
                {
                    await doomed.Client.ReplyAsync(workflowId, runId, $"run {i} turn {turn}");
                }
            }

            var created = await doomed.Client.PostAsync($"/v1/workflows/{workflowId}/versions/0/evaluations", Http.Json($$"""{"limit":{{Runs}},"max_concurrency":2}"""));
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            evaluationId = (await created.ReadObjectAsync())["evaluation_id"]!.GetValue<string>();

            // Some replayed, some replaying, most waiting: then the worst moment.
            JsonNode progress = null!;
            await Eventually.TrueAsync(
                async () => (progress = (await Read(doomed, workflowId, evaluationId))["progress"]!)["completed"]!.GetValue<int>() >= 5,
                "a few runs are replayed");
            doomed.Kill();
            Assert.True(progress["completed"]!.GetValue<int>() < Runs, $"the evaluation was still going when the server was killed: {progress.ToJsonString()}");
        }

        await using var survivor = await ServerProcess.StartAsync(database, settings);
        JsonObject evaluation = null!;
        await Eventually.TrueAsync(
            async () => (evaluation = await Read(survivor, workflowId, evaluationId))["status"]!.GetValue<string>() == "completed",
            "the evaluation completed after the restart",
            90);
        Assert.Equal(Runs, evaluation["summary"]!["counts"]!["unchanged"]!.GetValue<int>());
        Assert.Equal((Runs, 0), (evaluation["progress"]!["completed"]!.GetValue<int>(), evaluation["progress"]!["failed"]!.GetValue<int>()));

        // One result per source run, each naming a replay run that exists.
        var results = (await Read(survivor, workflowId, evaluationId, "?limit=500"))["results"]!.AsArray();
        Assert.Equal(Runs, results.Select(r => r!["source_run_id"]!.GetValue<string>()).Distinct().Count());
        foreach (var result in results.Take(10))
        {
            Assert.Equal(HttpStatusCode.OK, (await survivor.Client.GetAsync($"/v1/runs/{result!["replay_run_id"]!.GetValue<string>()}")).StatusCode);
        }
    }

    private static async Task<JsonObject> Read(ServerProcess server, string workflowId, string evaluationId, string query = "") =>
        await (await server.Client.GetAsync($"/v1/workflows/{workflowId}/versions/0/evaluations/{evaluationId}{query}")).ReadObjectAsync();
}
