using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Batches through HTTP on every store: a JSON array, a CSV file or a JSON Lines file becomes one run per item, started
/// by the work queue at most max_concurrency at a time, read back with progress and results, and cancelled.
/// </summary>
public abstract class BatchTests(StoreUnderTest store) : IAsyncLifetime
{
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private LoopbackApi api = null!;

    private const string Greeter = """
        { "name": "Batch greeter", "start": "greet", "variables": { "name": "" }, "nodes": [
          { "id": "greet", "type": "set", "assign": { "greeting": "Hello {{name}}" }, "next": "route" },
          { "id": "route", "type": "branch", "cases": [
              { "when": { "var": "name", "op": "eq", "value": "ask" }, "next": "ask" },
              { "when": { "var": "name", "op": "eq", "value": "fail" }, "next": "fail" } ],
            "default": "done" },
          { "id": "ask", "type": "ask", "prompt": "More?", "variable": "more", "next": "done" },
          { "id": "fail", "type": "fail", "error": "No greeting for {{name}}" },
          { "id": "done", "type": "end", "output": "{{greeting}}" } ] }
        """;

    public async Task InitializeAsync()
    {
        var settings = await store.SettingsAsync();
        settings["Sessions:Batches:PollMilliseconds"] = "100";
        factory = new SessionsFactory(null, settings);
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
    public async Task A_batch_of_1000_items_makes_one_run_each_and_reports_progress_and_results_in_order()
    {
        var workflow = await client.UploadAsync(Greeter);
        var names = Enumerable.Range(0, 1000).Select(i => i % 100 == 7 ? "ask" : i % 100 == 9 ? "fail" : $"n{i}").ToList();
        var body = new JsonArray(names.Select(n => (JsonNode?)new JsonObject { ["name"] = n }).ToArray());
        var created = await client.PostAsync($"/v1/workflows/{workflow}/batches?max_concurrency=16", Http.Json(body.ToJsonString()));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var batch = await created.ReadObjectAsync();
        var batchId = batch["batch_id"]!.GetValue<string>();
        Assert.Equal($"/v1/batches/{batchId}", created.Headers.Location!.ToString());
        Assert.Equal(("running", 1000, 16), (batch["status"]!.GetValue<string>(), batch["progress"]!["total"]!.GetValue<int>(), batch["max_concurrency"]!.GetValue<int>()));

        var done = await WaitForAsync(batchId, "completed", 120);
        Assert.Equal((980, 10, 10, 0, 0, 0), Progress(done));
        var items = done["items"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, 1000), items.Select(i => i!["index"]!.GetValue<int>()));
        Assert.Equal(1000, items.Select(i => i!["run_id"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal(("completed", "Hello n0"), (items[0]!["status"]!.GetValue<string>(), items[0]!["output"]!.GetValue<string>()));
        Assert.Equal(("waiting", "waiting_for_user_input"), (items[7]!["status"]!.GetValue<string>(), items[7]!["run_status"]!.GetValue<string>()));
        Assert.Equal(("failed", "No greeting for fail"), (items[9]!["status"]!.GetValue<string>(), items[9]!["error"]!.GetValue<string>()));

        // Each item's run is a real run of the workflow, started once: 1,000 runs, the waiting ones take replies.
        var runs = await (await client.GetAsync($"/v1/runs?workflow_id={workflow}&limit=1")).ReadObjectAsync();
        Assert.Equal(1000, runs["total"]!.GetValue<int>());
        var waitingRun = items[7]!["run_id"]!.GetValue<string>();
        Assert.Equal("completed", (await client.ReplyAsync(workflow, waitingRun, "no"))["status"]!.GetValue<string>());

        var results = await client.GetAsync($"/v1/batches/{batchId}/results");
        Assert.Equal("application/x-ndjson", results.Content.Headers.ContentType!.MediaType);
        var lines = (await results.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(Enumerable.Range(0, 1000), lines.Select(l => l["index"]!.GetValue<int>()));
        Assert.Equal("Hello n999", lines[999]["output"]!.GetValue<string>());
    }

    [ServerFact]
    public async Task CSV_and_JSON_Lines_files_are_batches_and_bad_input_is_refused()
    {
        var workflow = await client.UploadAsync(Greeter);
        var csv = "name,city\r\n\"Smith, Jane\",Oslo\r\n\"Say \"\"hi\"\"\",\"Line\nbreak\"\r\nask,Rome\r\n";
        var fromCsv = await WaitForAsync(await SendFileAsync(workflow, "people.csv", "text/csv", csv), "completed", 30);
        Assert.Equal((2, 0, 1, 0, 0, 0), Progress(fromCsv));
        Assert.Equal(["Hello Smith, Jane", "Hello Say \"hi\"", null], fromCsv["items"]!.AsArray().Select(i => i!["output"]?.GetValue<string>()));

        var jsonl = "{\"name\":\"a\"}\n\n{\"name\":\"fail\"}\n";
        var fromLines = await WaitForAsync(await SendFileAsync(workflow, "people.jsonl", "application/x-ndjson", jsonl), "completed", 30);
        Assert.Equal((1, 1, 0, 0, 0, 0), Progress(fromLines));

        async Task RefusedAsync(HttpResponseMessage response, HttpStatusCode status, string code)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
            Assert.Equal(code, JsonNode.Parse(text)!["code"]!.GetValue<string>());
        }

        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", Http.Json("""{ "name": "x" }""")), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", Http.Json("[]")), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", Http.Json("""[ { "name": "a" }, 5 ]""")), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches?max_concurrency=0", Http.Json("""[ {} ]""")), HttpStatusCode.BadRequest, "invalid_request");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/6b0ff83560b5ad05b81f7a5c/batches", Http.Json("""[ {} ]""")), HttpStatusCode.NotFound, "workflow_not_found");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches?version_number=9", Http.Json("""[ {} ]""")), HttpStatusCode.NotFound, "version_not_found");
        await RefusedAsync(await SendRawFileAsync(workflow, "ragged.csv", "text/csv", "name,city\na\n"), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await SendRawFileAsync(workflow, "open.csv", "text/csv", "name\n\"never closed\n"), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await SendRawFileAsync(workflow, "bad.jsonl", "application/x-ndjson", "{\"name\":\"a\"}\n[1]\n"), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await SendRawFileAsync(workflow, "items.txt", "text/plain", "name\na\n"), HttpStatusCode.BadRequest, "invalid_batch");
        await RefusedAsync(await client.GetAsync("/v1/batches/6b0ff83560b5ad05b81f7a5c"), HttpStatusCode.NotFound, "batch_not_found");

        // Hostile bodies: no boundary, bytes that are not UTF-8, a part that never ends.
        var noBoundary = new StringContent("--x\r\n", Encoding.UTF8);
        noBoundary.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", noBoundary), HttpStatusCode.BadRequest, "invalid_request");
        var latin1 = new ByteArrayContent([(byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'\n', 0xE9, 0xFF, (byte)'\n']);
        latin1.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", new MultipartFormDataContent { { latin1, "items", "latin1.csv" } }), HttpStatusCode.BadRequest, "invalid_batch");
        var cut = new StringContent("--b\r\nContent-Disposition: form-data; name=\"items\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nname\na\n", Encoding.UTF8);
        cut.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        await RefusedAsync(await client.PostAsync($"/v1/workflows/{workflow}/batches", cut), HttpStatusCode.BadRequest, "invalid_batch");
    }

    [ServerFact]
    public async Task Cancelling_a_batch_starts_no_more_items_and_cancels_the_runs_that_wait()
    {
        var gate = Guid.NewGuid().ToString("n");
        var held = await client.UploadAsync($$$"""
            { "name": "Held batch", "start": "call", "nodes": [
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}gate/{{{gate}}}", "timeout_seconds": 60, "next": "ask" },
              { "id": "ask", "type": "ask", "prompt": "More?", "variable": "more", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var created = await client.PostAsync($"/v1/workflows/{held}/batches?max_concurrency=1", Http.Json("""[ {}, {}, {}, {} ]"""));
        var batchId = (await created.ReadObjectAsync())["batch_id"]!.GetValue<string>();
        await api.Gate(gate).Arrived;

        var cancelled = await (await client.PostAsync($"/v1/batches/{batchId}/cancel", null)).ReadObjectAsync();
        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());
        Assert.Equal((3, 1), (cancelled["progress"]!["cancelled"]!.GetValue<int>(), cancelled["progress"]!["running"]!.GetValue<int>()));

        // The item whose turn was running finishes it and keeps its run; nothing else ever starts.
        api.Gate(gate).Open();
        JsonObject batch = null!;
        await Eventually.TrueAsync(async () => (batch = await (await client.GetAsync($"/v1/batches/{batchId}")).ReadObjectAsync())["progress"]!["waiting"]!.GetValue<int>() == 1, "the running item finished");
        Assert.Equal(["waiting", "cancelled", "cancelled", "cancelled"], batch["items"]!.AsArray().Select(i => i!["status"]!.GetValue<string>()));
        Assert.Equal(1, (await (await client.GetAsync($"/v1/runs?workflow_id={held}&limit=1")).ReadObjectAsync())["total"]!.GetValue<int>());

        // A finished batch whose runs wait: cancelling it cancels them.
        var greeter = await client.UploadAsync(Greeter);
        var waiting = await (await client.PostAsync($"/v1/workflows/{greeter}/batches", Http.Json("""[ { "name": "ask" }, { "name": "x" } ]"""))).ReadObjectAsync();
        var finished = await WaitForAsync(waiting["batch_id"]!.GetValue<string>(), "completed", 30);
        var runId = finished["items"]![0]!["run_id"]!.GetValue<string>();
        var after = await (await client.PostAsync($"/v1/batches/{finished["batch_id"]}/cancel", null)).ReadObjectAsync();
        Assert.Equal("completed", after["status"]!.GetValue<string>());
        Assert.Equal((1, 1, 0), (after["progress"]!["cancelled"]!.GetValue<int>(), after["progress"]!["completed"]!.GetValue<int>(), after["progress"]!["waiting"]!.GetValue<int>()));
        Assert.Equal("cancelled", (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["status"]!.GetValue<string>());
    }

    private async Task<JsonObject> WaitForAsync(string batchId, string status, int seconds)
    {
        JsonObject batch = null!;
        await Eventually.TrueAsync(
            async () => (batch = await (await client.GetAsync($"/v1/batches/{batchId}")).ReadObjectAsync())["status"]!.GetValue<string>() == status,
            $"batch {batchId} is {status}",
            seconds);
        return batch;
    }

    private static (int Completed, int Failed, int Waiting, int Cancelled, int Pending, int Running) Progress(JsonObject batch)
    {
        var p = batch["progress"]!;
        return (p["completed"]!.GetValue<int>(), p["failed"]!.GetValue<int>(), p["waiting"]!.GetValue<int>(), p["cancelled"]!.GetValue<int>(), p["pending"]!.GetValue<int>(), p["running"]!.GetValue<int>());
    }

    private async Task<string> SendFileAsync(string workflow, string name, string type, string text)
    {
        var response = await SendRawFileAsync(workflow, name, type, text);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["batch_id"]!.GetValue<string>();
    }

    private Task<HttpResponseMessage> SendRawFileAsync(string workflow, string name, string type, string text)
    {
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        return client.PostAsync($"/v1/workflows/{workflow}/batches", new MultipartFormDataContent { { file, "items", name } });
    }
}

public sealed class SqliteBatchTests() : BatchTests(new SqliteStoreUnderTest());

public sealed class PostgresBatchTests() : BatchTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoBatchTests() : BatchTests(new MongoStoreUnderTest());
