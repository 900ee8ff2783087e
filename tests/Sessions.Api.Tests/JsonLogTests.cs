using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Machine-readable logs, as an operator turns them on (`Logging:Console:FormatterName=json` with scopes): a line
/// written inside a turn (the HttpClient of an `http_request` node) carries the turn's run, number and trace id; no
/// line carries a secret or what a user wrote. The server runs as a process of its own, as deployed.
/// </summary>
public sealed class JsonLogTests
{
    [Fact]
    public async Task A_json_log_line_written_inside_a_turn_names_the_turn_and_its_trace_and_never_a_secret_or_a_reply()
    {
        const string Secret = "sk-json-log-never";
        await using var api = await LoopbackApi.StartAsync("token");
        using var folder = new TempDirectory();
        await using var server = await ServerProcess.StartAsync(
            folder.File("sessions.db"),
            "--Logging:Console:FormatterName=json",
            "--Logging:Console:FormatterOptions:IncludeScopes=true",
            $"--Sessions:Secrets:default:orders_api={Secret}");
        var workflowId = await server.Client.UploadAsync($$$"""
            { "name": "Lookup", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Order?", "variable": "order", "next": "call" },
              { "id": "call", "type": "http_request", "url": "{{{api.Address}}}public/orders/123456", "headers": { "Authorization": "Bearer {{secrets.orders_api}}" }, "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        var runId = (await server.Client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        var reply = await server.Client.ExecuteAsync(workflowId, new { run_id = runId, run_input = new { user_message = "my-private-reply-123456" } });
        Assert.Equal("completed", (await reply.ReadObjectAsync())["status"]!.GetValue<string>());

        List<JsonObject> Lines() => JsonLines(server.Output).Where(l => l["Category"]?.GetValue<string>().StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) == true).ToList();
        await Eventually.TrueAsync(() => Task.FromResult(Lines().Count > 0), "the node's HttpClient logged its request");
        var lines = Lines();
        var scopes = lines[0]["Scopes"]!.AsArray();
        Assert.Contains(scopes, s => s?["run_id"]?.GetValue<string>() == runId && s["turn_number"]?.GetValue<int>() == 2 && s["workflow_id"]?.GetValue<string>() == workflowId);
        Assert.Contains(scopes, s => s?["TraceId"]?.GetValue<string>() is { Length: 32 });

        Assert.DoesNotContain(Secret, server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("my-private-reply", server.Output, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonObject> JsonLines(string output) =>
        output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject());
}
