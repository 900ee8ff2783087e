using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

// Two modes:
//   serve PORT                 an OpenAI-compatible chat endpoint on 127.0.0.1:PORT that answers at once
//   measure SERVER_URL TURNS   TURNS sequential one-LLM-call turns through the Sessions server; reports what a turn
//                              adds over the model's own latency (turn time over HTTP minus the llm event's latency_ms)
if (args is ["serve", var port])
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    var app = builder.Build();
    app.MapPost("/v1/chat/completions", (JsonObject body) => Results.Json(new JsonObject
    {
        ["id"] = "chatcmpl-bench",
        ["object"] = "chat.completion",
        ["created"] = 1_700_000_000,
        ["model"] = body["model"]!.GetValue<string>(),
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "Hello! How can I help with your order today?" },
            ["finish_reason"] = "stop",
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 20, ["completion_tokens"] = 10, ["total_tokens"] = 30 },
    }));
    await app.RunAsync();
    return 0;
}

if (args is not ["measure", var server, var count])
{
    Console.Error.WriteLine("usage: LlmOverhead serve PORT | LlmOverhead measure SERVER_URL TURNS");
    return 2;
}

using var client = new HttpClient { BaseAddress = new Uri(server) };
var created = await client.PostAsync("/v1/workflows", new StringContent("""
    { "name": "One model call", "start": "chat", "nodes": [
      { "id": "chat", "type": "llm", "mode": "say", "llm_config": "default",
        "messages": [ { "role": "system", "content": "You help with orders." }, { "role": "user", "content": "Hello!" } ], "next": "done" },
      { "id": "done", "type": "end" } ] }
    """, System.Text.Encoding.UTF8, "application/json"));
var workflow = (await created.Content.ReadFromJsonAsync<JsonObject>())!["workflow_id"]!.GetValue<string>();

const int warmup = 50;
var turns = int.Parse(count);
var overhead = new List<double>();
var model = new List<double>();
var total = new List<double>();
for (var i = 0; i < warmup + turns; i++)
{
    var clock = Stopwatch.StartNew();
    using var response = await client.PostAsJsonAsync($"/v1/workflows/{workflow}/execute", new JsonObject());
    var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    var elapsed = clock.Elapsed.TotalMilliseconds;
    if (answer["status"]?.GetValue<string>() != "completed")
    {
        Console.Error.WriteLine($"Turn {i} did not complete: {answer}");
        return 1;
    }

    if (i < warmup)
    {
        continue;
    }

    var llm = answer["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "llm")!["latency_ms"]!.GetValue<double>();
    total.Add(elapsed);
    model.Add(llm);
    overhead.Add(elapsed - llm);
}

static string Describe(List<double> values)
{
    values.Sort();
    double At(double p) => values[(int)Math.Ceiling(p / 100 * values.Count) - 1];
    return $"median {At(50):F2} ms, p90 {At(90):F2} ms, p99 {At(99):F2} ms";
}

Console.WriteLine($"turns: {turns} sequential (after {warmup} warm-up), one model call each, model server on loopback");
Console.WriteLine($"turn over HTTP:       {Describe(total)}");
Console.WriteLine($"model call (llm.latency_ms): {Describe(model)}");
Console.WriteLine($"added by the turn:    {Describe(overhead)}");
return 0;
