using System.Net;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// `parallel` nodes and workflows in the DAG shape: steps run as a graph against a real HTTP service on loopback that
/// fails and then answers, with retries, fallbacks, input mappings, progress while they run, and a retry of a failed
/// run that runs only the steps that did not finish. Through HTTP, on every store.
/// </summary>
public abstract class ParallelStepTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private LoopbackApi api = null!;

    public async Task InitializeAsync()
    {
        factory = new SessionsFactory(null, await store.SettingsAsync());
        client = factory.CreateClient();
        api = await LoopbackApi.StartAsync("token");
    }

    public async Task DisposeAsync()
    {
        await api.DisposeAsync();
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task A_dag_fans_out_and_in_with_retries_a_fallback_and_mappings_and_ends_with_its_final_steps_outputs()
    {
        var (stock, price, fallback) = (Key(), Key(), Key());
        var workflow = await client.UploadAsync($$$"""
            { "name": "Fulfil", "max_concurrency": 4, "steps": [
              { "id": "order", "type": "http_request", "url": "{{{api.Address}}}public/orders/123456", "response": { "eta": "delivery.eta" } },
              { "id": "stock", "type": "http_request", "url": "{{{api.Address}}}missing-first/2/{{{stock}}}", "retries": { "max": 2, "backoff_seconds": 0.05 } },
              { "id": "price", "type": "http_request", "url": "{{{api.Address}}}broken/{{{price}}}", "retry_delay_seconds": 0.01,
                "fallback": { "url": "{{{api.Address}}}count/{{{fallback}}}", "response": { "n": "n" } } },
              { "id": "summary", "type": "set", "depends_on": ["order", "stock", "price"],
                "input_mappings": [ { "from_step": "order", "from_field": "eta", "to_field": "eta" } ],
                "assign": { "line": "Arrives {{eta}}, stock {{steps.stock.http_status}}", "price_calls": "{{steps.price.n}}" } } ] }
            """);

        var answer = await client.StartAsync(workflow);
        Assert.Equal("completed", answer["status"]!.GetValue<string>());
        var attempts = answer["events"]!.AsArray().Where(e => e!["type"]!.GetValue<string>() == "step_attempt").ToList();
        string[] Statuses(string step) => attempts.Where(a => a!["step_id"]!.GetValue<string>() == step)
            .Select(a => $"{a!["attempt"]}:{a["status"]}{(a["fallback"]!.GetValue<bool>() ? ":fallback" : "")}").ToArray();
        Assert.Equal(["1:failed", "2:failed", "3:completed"], Statuses("stock"));
        Assert.Equal(["1:failed", "2:completed:fallback"], Statuses("price"));
        Assert.Equal(["1:completed"], Statuses("summary"));
        Assert.Equal(3, api.Calls(price));
        Assert.Contains("answered 500 after 3 attempt(s)", attempts.First(a => a!["step_id"]!.GetValue<string>() == "price")!["error"]!.GetValue<string>());

        // The run's output is the final step's outputs; every step's outputs stay in the variables under steps.
        var run = await (await client.GetAsync($"/v1/runs/{answer["run_id"]}")).ReadObjectAsync();
        Assert.Equal("Arrives 2026-12-01, stock 200", run["output"]!["line"]!.GetValue<string>());
        Assert.Equal(1, run["output"]!["price_calls"]!.GetValue<int>());
        Assert.Equal("2026-12-01", run["variables"]!["steps"]!["order"]!["eta"]!.GetValue<string>());

        // node_executions: the parallel node once, and each step's attempts with their outputs or errors.
        var executions = run["node_executions"]!.AsArray();
        var stockAttempts = executions.Where(e => e!["step_id"]?.GetValue<string>() == "stock").ToList();
        Assert.Equal([1, 2, 3], stockAttempts.Select(e => e!["attempt"]!.GetValue<int>()));
        Assert.All(stockAttempts, e => Assert.Equal("steps", e!["node_id"]!.GetValue<string>()));
        Assert.Equal(200, stockAttempts[2]!["outputs"]!["http_status"]!.GetValue<int>());
        Assert.Contains("answered 404", stockAttempts[0]!["error"]!.GetValue<string>());
        Assert.Contains(executions, e => e!["node_id"]!.GetValue<string>() == "steps" && e["step_id"] is null && e["status"]!.GetValue<string>() == "completed");

        var diagram = await (await client.GetAsync($"/v1/workflows/{workflow}/versions/0/diagram")).Content.ReadAsStringAsync();
        Assert.Contains("subgraph", diagram);
        Assert.Contains("summary", diagram);
    }

    [ServerFact]
    public async Task Independent_steps_run_at_once_up_to_max_concurrency()
    {
        foreach (var (limit, expected) in new[] { (4, 4), (2, 2) })
        {
            var steps = string.Join(",", Enumerable.Range(0, 4).Select(i =>
                $$"""{ "id": "s{{i}}", "type": "http_request", "url": "{{api.Address}}delay/200" }"""));
            var workflow = await client.UploadAsync($$"""{ "name": "Fan out", "max_concurrency": {{limit}}, "steps": [{{steps}}] }""");
            var answer = await client.StartAsync(workflow);
            Assert.Equal("completed", answer["status"]!.GetValue<string>());
            var spans = answer["events"]!.AsArray().Where(e => e!["type"]!.GetValue<string>() == "step_attempt")
                .Select(e => (Start: DateTimeOffset.Parse(e!["started_at"]!.GetValue<string>()), End: DateTimeOffset.Parse(e["ended_at"]!.GetValue<string>())))
                .ToList();
            Assert.Equal(4, spans.Count);

            // The most attempts in flight at any moment: at each start, how many others had started and not ended.
            var mostAtOnce = spans.Max(s => spans.Count(o => o.Start <= s.Start && o.End > s.Start));
            Assert.Equal(expected, mostAtOnce);
        }
    }

    [ServerFact]
    public async Task A_running_parallel_node_shows_its_steps_progress()
    {
        var gate = Key();
        var workflow = await client.UploadAsync($$$"""
            { "name": "Held", "steps": [
              { "id": "quick", "type": "http_request", "url": "{{{api.Address}}}public/orders/123456" },
              { "id": "held", "type": "http_request", "url": "{{{api.Address}}}gate/{{{gate}}}", "timeout_seconds": 60 },
              { "id": "after", "type": "set", "depends_on": ["quick", "held"], "assign": { "done": true } } ] }
            """);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflow}/execute") { Content = Http.Json("""{ "run_input": {} }""") };
        request.Headers.Add("Prefer", "respond-async");
        var accepted = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var runId = (await accepted.ReadObjectAsync())["run_id"]!.GetValue<string>();
        await api.Gate(gate).Arrived;

        JsonNode? progress = null;
        await Eventually.TrueAsync(async () =>
        {
            progress = (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["progress"];
            return progress?["completed_steps"]?.GetValue<int>() == 1;
        }, "the quick step finished while the held one runs");
        Assert.Equal("running", (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>());
        Assert.Equal((3, "steps"), (progress!["total_steps"]!.GetValue<int>(), progress["current_node"]!.GetValue<string>()));
        Assert.Equal(["held"], progress["current_steps"]!.AsArray().Select(s => s!.GetValue<string>()));

        api.Gate(gate).Open();
        var joined = await client.GetAsync($"/v1/runs/{runId}/turns/1/result?wait_seconds=30");
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal("completed", (await joined.ReadObjectAsync())["status"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task A_stop_cancels_a_parallel_node_mid_step_and_nothing_of_its_turn_is_kept()
    {
        var (gate, counted) = (Key(), Key());
        var workflow = await client.UploadAsync($$$"""
            { "name": "Stopped", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Go?", "variable": "go", "next": "work" },
              { "id": "work", "type": "parallel", "next": "done", "steps": [
                { "id": "quick", "type": "http_request", "url": "{{{api.Address}}}count/{{{counted}}}" },
                { "id": "held", "type": "http_request", "url": "{{{api.Address}}}gate/{{{gate}}}", "timeout_seconds": 60 } ] },
              { "id": "done", "type": "end" } ] }
            """);
        var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var running = client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = "yes" } });
        await api.Gate(gate).Arrived;

        var stop = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "stop" } });
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("cancelled", (await stop.ReadObjectAsync())["status"]!.GetValue<string>());
        var cancelled = await running;
        Assert.Equal(HttpStatusCode.Conflict, cancelled.StatusCode);
        Assert.Equal("turn_cancelled", (await cancelled.ReadObjectAsync())["code"]!.GetValue<string>());

        // The quick step ran, but the turn it was part of committed nothing: no step's attempt, no outputs.
        Assert.Equal(1, api.Calls(counted));
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(("cancelled", 2), (run["status"]!.GetValue<string>(), run["turn_number"]!.GetValue<int>()));
        Assert.Null(run["variables"]!["steps"]);
        Assert.DoesNotContain(run["turns"]!.AsArray().SelectMany(t => t!["events"]!.AsArray()), e => e!["type"]!.GetValue<string>() == "step_attempt");
        api.Gate(gate).Open();
    }

    [ServerFact]
    public async Task A_retried_run_runs_only_the_steps_that_failed_or_never_ran()
    {
        var (counted, broken) = (Key(), Key());
        var workflow = await client.UploadAsync($$$"""
            { "name": "Partial", "start": "work", "nodes": [
              { "id": "work", "type": "parallel", "next": "done", "steps": [
                { "id": "a", "type": "http_request", "url": "{{{api.Address}}}count/{{{counted}}}", "response": { "n": "n" } },
                { "id": "b", "type": "http_request", "url": "{{{api.Address}}}broken/{{{broken}}}", "retry_delay_seconds": 0.01 },
                { "id": "c", "type": "set", "depends_on": ["b"], "assign": { "seen": "{{steps.a.n}}" } } ] },
              { "id": "done", "type": "end", "output": "{{steps}}" } ] }
            """);
        var failed = await client.StartAsync(workflow);
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.StartsWith("Step 'b' failed: GET ", failed["error"]!.GetValue<string>());
        Assert.EndsWith("; not run: c", failed["error"]!.GetValue<string>());
        Assert.Equal(1, api.Calls(counted));
        var runId = failed["run_id"]!.GetValue<string>();
        var kept = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal(["a"], kept["variables"]!["steps"]!.AsObject().Select(p => p.Key));

        api.Mend(broken);
        var response = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { command = "retry" } });
        var retried = await response.ReadObjectAsync();
        Assert.Equal("completed", retried["status"]!.GetValue<string>());
        var events = retried["events"]!.AsArray();
        Assert.Equal(["a"], events.Single(e => e!["type"]!.GetValue<string>() == "steps_kept")!["steps"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(["b", "c"], events.Where(e => e!["type"]!.GetValue<string>() == "step_attempt").Select(e => e!["step_id"]!.GetValue<string>()));

        // a ran once in all; its output from the failed turn is what c read.
        Assert.Equal(1, api.Calls(counted));
        var output = (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["output"]!;
        Assert.Equal((1, 1), (output["a"]!["n"]!.GetValue<int>(), output["c"]!["seen"]!.GetValue<int>()));
    }

    [ServerFact]
    public async Task Uploads_with_a_broken_step_graph_are_refused_with_each_problem_at_its_path()
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json("""
            { "name": "Broken", "steps": [
              { "id": "a", "type": "set", "assign": { "x": 1 }, "depends_on": ["b"] },
              { "id": "b", "type": "set", "assign": { "x": 1 }, "depends_on": ["a"] },
              { "id": "c", "type": "set", "assign": { "x": 1 }, "depends_on": ["nowhere"] },
              { "id": "d", "type": "set", "assign": { "x": 1 }, "input_mappings": [ { "from_step": "c", "from_field": "x", "to_field": "y" } ] },
              { "id": "e", "type": "ask", "prompt": "Name?", "variable": "name" },
              { "id": "f", "type": "set", "assign": { "x": 1 }, "retries": { "max": 99 } },
              { "id": "c", "type": "set", "assign": { "x": 1 } } ] }
            """));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problems = (await response.ReadObjectAsync())["errors"]!.AsArray().Select(e => $"{e!["path"]} {e["code"]}").ToList();
        Assert.Contains("$.steps[0].depends_on step_cycle", problems);
        Assert.Contains("$.steps[1].depends_on step_cycle", problems);
        Assert.Contains("$.steps[2].depends_on unknown_step", problems);
        Assert.Contains("$.steps[3].input_mappings[0].from_step mapping_not_upstream", problems);
        Assert.Contains("$.steps[4].type step_waits_for_people", problems);
        Assert.Contains("$.steps[5].retries invalid_retries", problems);
        Assert.Contains("$.steps[6].id duplicate_step_id", problems);

        // A step id is one step in the whole workflow: two parallel nodes cannot both have a step "x".
        var twice = await client.PostAsync("/v1/workflows", Http.Json("""
            { "name": "Twice", "start": "one", "nodes": [
              { "id": "one", "type": "parallel", "next": "two", "steps": [ { "id": "x", "type": "set", "assign": { "v": 1 } } ] },
              { "id": "two", "type": "parallel", "next": "end", "steps": [ { "id": "x", "type": "set", "assign": { "v": 2 } } ] },
              { "id": "end", "type": "end" } ] }
            """));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, twice.StatusCode);
        Assert.Contains((await twice.ReadObjectAsync())["errors"]!.AsArray(), e => $"{e!["path"]} {e["code"]}" == "$.nodes[1].steps duplicate_step_id");
    }

    private static string Key() => Guid.NewGuid().ToString("n");
}

public sealed class SqliteParallelStepTests() : ParallelStepTests(new SqliteStoreUnderTest());

public sealed class PostgresParallelStepTests() : ParallelStepTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoParallelStepTests() : ParallelStepTests(new MongoStoreUnderTest());
