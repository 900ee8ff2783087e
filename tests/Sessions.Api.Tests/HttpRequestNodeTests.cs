using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Sessions.Api.Tests;

public sealed class HttpRequestNodeTests : IAsyncLifetime
{
    private const string Secret = "s3cr3t-ORDERS-token-7f41";

    private LoopbackApi api = null!;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private string workflow = null!;

    public async Task InitializeAsync()
    {
        api = await LoopbackApi.StartAsync(Secret);
        factory = new SessionsFactory(null, new() { ["Sessions:Secrets:default:orders_api"] = Secret });
        client = factory.CreateClient();
        workflow = await UploadAsync($$$"""
            { "name": "Order lookup", "start": "ask", "variables": { "order_id": null },
              "nodes": [
                { "id": "ask", "type": "ask", "prompt": "Order number?", "variable": "order_id", "next": "lookup" },
                { "id": "lookup", "type": "http_request", "method": "GET",
                  "url": "{{{api.Address}}}orders/{{order_id}}?key={{secrets.orders_api}}",
                  "headers": { "Authorization": "Bearer {{secrets.orders_api}}", "X-Order": "{{order_id}}" },
                  "response": { "order_status": "status", "eta": "delivery.eta", "whole": "$" },
                  "status_variable": "lookup_status", "next": "route" },
                { "id": "route", "type": "branch",
                  "cases": [ { "when": { "var": "lookup_status", "op": "eq", "value": 200 }, "next": "found" } ], "default": "missing" },
                { "id": "found", "type": "say", "text": "Your order is {{order_status}}, arriving {{eta}}.", "next": "done" },
                { "id": "missing", "type": "say", "text": "No order {{order_id}} (HTTP {{lookup_status}}).", "next": "done" },
                { "id": "done", "type": "end" } ] }
            """);
    }

    public async Task DisposeAsync()
    {
        factory.Dispose();
        await api.DisposeAsync();
    }

    [Fact]
    public async Task A_call_maps_the_answer_into_variables_and_its_status_drives_a_branch()
    {
        var answers = new StringBuilder();
        var start = await client.StartAsync(workflow);
        var runId = start["run_id"]!.GetValue<string>();
        var done = await client.ReplyAsync(workflow, runId, "123456");
        answers.Append(start.ToJsonString()).Append(done.ToJsonString());

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Contains(done["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Your order is shipped, arriving 2026-12-01.");
        var call = done["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "http_request")!;
        Assert.Equal(("GET", 200, 1), (call["method"]!.GetValue<string>(), call["status_code"]!.GetValue<int>(), call["attempts"]!.GetValue<int>()));
        Assert.Equal($"{api.Address}orders/123456?key=***", call["url"]!.GetValue<string>());
        Assert.Equal($"Bearer {Secret}", Assert.Single(api.SeenAuthorization));

        var other = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
        var missing = await client.ReplyAsync(workflow, other, "999999");
        answers.Append(missing.ToJsonString());
        Assert.Contains(missing["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "No order 999999 (HTTP 404).");

        // The secret reached the API, and nowhere else: not in answers, stored runs, events, transcripts, streams or logs.
        foreach (var id in new[] { runId, other })
        {
            answers.Append(await client.GetStringAsync($"/v1/runs/{id}"));
            answers.Append(await client.GetStringAsync($"/v1/runs/{id}/transcript?format=markdown"));
            answers.Append(await client.GetStringAsync($"/v1/runs/{id}/events/stream"));
        }

        Assert.DoesNotContain(Secret, answers.ToString());
        Assert.DoesNotContain(factory.Logs, line => line.Contains(Secret));
        Assert.True(factory.Logs.Count > 0);
        Assert.DoesNotContain(Secret, await StoredTextAsync());
        Assert.Contains("***", await StoredTextAsync());
    }

    [Fact]
    public async Task Transient_failures_are_retried_and_a_timeout_fails_the_run_naming_the_call()
    {
        var flaky = await UploadAsync($$$"""
            { "name": "Flaky", "start": "call", "nodes": [
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}flaky/one", "retries": 3, "retry_delay_seconds": 0.01, "response": { "ok": "ok" }, "next": "done" },
              { "id": "done", "type": "end", "output": "{{ok}}" } ] }
            """);
        var answer = await client.StartAsync(flaky);
        Assert.Equal(("completed", "true"), (answer["status"]!.GetValue<string>(), answer["events"]!.AsArray()[^1]!["output"]!.ToJsonString()));
        Assert.Equal(3, answer["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "http_request")!["attempts"]!.GetValue<int>());
        Assert.Equal(3, api.Calls("one"));

        var slow = await UploadAsync($$$"""
            { "name": "Slow", "start": "call", "nodes": [
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}delay/3000", "timeout_seconds": 0.2, "retries": 1, "retry_delay_seconds": 0.01, "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var failed = await client.StartAsync(slow);
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal($"GET {api.Address}delay/3000 failed after 2 attempt(s): timed out", failed["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_json_body_is_sent_templated_and_a_missing_secret_fails_saying_which()
    {
        var echo = await UploadAsync($$$"""
            { "name": "Echo", "start": "call", "variables": { "qty": 3 }, "nodes": [
              { "id": "call", "type": "http_request", "method": "POST", "url": "{{{api.Address}}}echo",
                "body": { "sku": "A-1", "quantity": "{{qty}}", "note": "for {{qty}}" }, "response": { "sent": "$" }, "next": "done" },
              { "id": "done", "type": "end", "output": "{{sent}}" } ] }
            """);
        var answer = await client.StartAsync(echo);
        Assert.Equal("""{"sku":"A-1","quantity":3,"note":"for 3"}""", answer["events"]!.AsArray()[^1]!["output"]!.ToJsonString());

        var unknown = await UploadAsync($$$"""
            { "name": "No secret", "start": "call", "nodes": [
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}orders/1", "headers": { "Authorization": "Bearer {{secrets.billing_api}}" }, "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var failed = await client.StartAsync(unknown);
        Assert.Contains("The secret 'billing_api' is not configured", failed["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{ "id": "c", "type": "http_request", "next": "d" }""", "$.nodes[0].url", "missing_field")]
    [InlineData("""{ "id": "c", "type": "http_request", "url": "http://x", "method": "FETCH", "next": "d" }""", "$.nodes[0].method", "invalid_value")]
    [InlineData("""{ "id": "c", "type": "http_request", "url": "http://x", "body": { "t": "{{secrets.a}}" }, "next": "d" }""", "$.nodes[0].body", "secret_in_body")]
    [InlineData("""{ "id": "c", "type": "http_request", "url": "http://x", "timeout_seconds": 0, "next": "d" }""", "$.nodes[0].timeout_seconds", "invalid_value")]
    [InlineData("""{ "id": "c", "type": "http_request", "url": "http://x", "response": { "1bad": "a" }, "next": "d" }""", "$.nodes[0].response.1bad", "invalid_mapping")]
    public async Task Bad_http_nodes_are_refused_at_upload(string node, string path, string code)
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json($$"""{ "name": "x", "start": "c", "nodes": [ {{node}}, { "id": "d", "type": "end" } ] }"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = (await response.ReadObjectAsync())["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["path"]!.GetValue<string>() == path && e["code"]!.GetValue<string>() == code);
    }

    private async Task<string> UploadAsync(string definition)
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json(definition));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["workflow_id"]!.GetValue<string>();
    }

    /// <summary>Every text value in every table of the database.</summary>
    private async Task<string> StoredTextAsync()
    {
        var text = new StringBuilder();
        await using var connection = new SqliteConnection($"Data Source={factory.DatabasePath}");
        await connection.OpenAsync();
        foreach (var table in new[] { "runs", "run_turns", "workflows", "workflow_versions" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table};";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    // A turn record's long JSON is kept deflated: read as the text it holds.
                    text.Append(reader.IsDBNull(i) ? string.Empty : reader.GetValue(i) is byte[] packed ? Inflated(packed) : reader.GetValue(i)).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static string Inflated(byte[] packed)
    {
        using var inflate = new System.IO.Compression.ZLibStream(new MemoryStream(packed), System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(inflate);
        return reader.ReadToEnd();
    }
}
