// The bounded load test: conversations of several turns at once, against server instances that share one store.
// Each turn goes to the next instance in turn, with an Idempotency-Key and expected_turn, as an agent harness sends it.
// Reports turns per second and latency percentiles, and counts 5xx answers and lost turns (both must be zero).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

var targets = args[0].Split(',').Select(t => new Uri(t)).ToArray();
var conversations = args.Length > 1 ? int.Parse(args[1]) : 200;
var turnsPerConversation = args.Length > 2 ? int.Parse(args[2]) : 10;

using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
var clients = targets.Select(t => new HttpClient(handler, disposeHandler: false) { BaseAddress = t, Timeout = TimeSpan.FromSeconds(60) }).ToArray();

// turn 1 starts the run and asks; replies 1..n-1 count up; the last reply ends it, so a conversation is exactly n turns.
var definition = $$$"""
    { "name": "Load test", "start": "ask", "variables": { "n": 0 }, "nodes": [
      { "id": "ask", "type": "ask", "prompt": "Message {{n}}?", "variable": "message", "next": "count" },
      { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "check" },
      { "id": "check", "type": "branch", "cases": [ { "when": { "var": "n", "op": "gte", "value": {{{turnsPerConversation - 1}}} }, "next": "done" } ], "default": "say" },
      { "id": "say", "type": "say", "text": "Got {{message}}", "next": "ask" },
      { "id": "done", "type": "end", "output": "{{n}}" } ] }
    """;
var created = await clients[0].PostAsync("/v1/workflows", new StringContent(definition, Encoding.UTF8, "application/json"));
created.EnsureSuccessStatusCode();
var workflowId = (await created.Content.ReadFromJsonAsync<JsonObject>())!["workflow_id"]!.GetValue<string>();

var latencies = new ConcurrentBag<double>();
var statusCounts = new ConcurrentDictionary<int, int>();
var acknowledged = new ConcurrentDictionary<string, int>();
var transportErrors = 0;

async Task<JsonObject?> TurnAsync(HttpClient client, string key, string body)
{
    // A harness retries a timeout or a dropped connection with the same key; 5xx are counted, never retried away.
    for (var attempt = 1; ; attempt++)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            statusCounts.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if (response.IsSuccessStatusCode)
            {
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                return JsonNode.Parse(text)!.AsObject();
            }

            if ((int)response.StatusCode >= 500 || attempt == 5)
            {
                Console.Error.WriteLine($"{(int)response.StatusCode} for {key}: {text}");
                return null;
            }

            await Task.Delay(200 * attempt);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && attempt < 5)
        {
            Interlocked.Increment(ref transportErrors);
        }
    }
}

async Task ConverseAsync(int index)
{
    string? runId = null;
    for (var turn = 1; turn <= turnsPerConversation; turn++)
    {
        var client = clients[(index + turn) % clients.Length];
        var body = runId is null
            ? """{"run_input":{"run_by":"load-test"}}"""
            : $$$"""{"run_id":"{{{runId}}}","expected_turn":{{{turn - 1}}},"run_input":{"user_message":"message {{{turn}}}"}}""";
        var answer = await TurnAsync(client, $"load-{index}-{turn}", body);
        if (answer is null)
        {
            return;
        }

        runId ??= answer["run_id"]!.GetValue<string>();
        acknowledged.AddOrUpdate(runId, 1, (_, n) => n + 1);
    }
}

Console.WriteLine($"{conversations} conversations x {turnsPerConversation} turns against {string.Join(", ", targets.Select(t => t.ToString()))}");
var elapsed = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, conversations).Select(i => Task.Run(() => ConverseAsync(i))));
elapsed.Stop();

// Lost turns: a turn acknowledged with 200 that the store does not have, or a conversation that fell short.
var lost = 0;
var incomplete = 0;
foreach (var (runId, count) in acknowledged)
{
    var run = (await clients[1 % clients.Length].GetFromJsonAsync<JsonObject>($"/v1/runs/{runId}"))!;
    var events = (await clients[0].GetFromJsonAsync<JsonObject>($"/v1/runs/{runId}/events?limit=1000"))!["events"]!.AsArray();
    var storedTurns = run["turns"]!.AsArray().Count;
    var gapFree = events.Select((e, i) => e!["seq"]!.GetValue<long>() == i + 1).All(ok => ok);
    lost += Math.Max(0, count - storedTurns) + (gapFree ? 0 : 1);
    incomplete += run["status"]!.GetValue<string>() == "completed" && storedTurns == turnsPerConversation ? 0 : 1;
}

var sorted = latencies.Order().ToArray();
double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
var fiveHundreds = statusCounts.Where(s => s.Key >= 500).Sum(s => s.Value);
Console.WriteLine($"turns answered:      {sorted.Length} of {conversations * turnsPerConversation} in {elapsed.Elapsed.TotalSeconds:F2} s");
Console.WriteLine($"throughput:          {sorted.Length / elapsed.Elapsed.TotalSeconds:F0} turns/s");
Console.WriteLine($"latency p50 / p99:   {Percentile(0.50):F1} / {Percentile(0.99):F1} ms (max {sorted.LastOrDefault():F1} ms)");
Console.WriteLine($"answers by status:   {string.Join(", ", statusCounts.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
Console.WriteLine($"transport retries:   {transportErrors}");
Console.WriteLine($"5xx answers:         {fiveHundreds}");
Console.WriteLine($"lost turns:          {lost}");
Console.WriteLine($"runs not completed:  {incomplete + (conversations - acknowledged.Count)}");
return fiveHundreds == 0 && lost == 0 && incomplete == 0 && acknowledged.Count == conversations ? 0 : 1;
