using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

// Sequential turns of the order-status sample over real HTTP: one client, one turn at a time, so each figure is the
// end-to-end latency of one turn (parse, load, step, commit with fsync, answer), not throughput.
var baseUrl = args.Length > 0 ? args[0].TrimEnd('/') : "http://127.0.0.1:5080";
var turns = args.Length > 1 ? int.Parse(args[1]) : 1000;
const string workflow = "66a1f0000000000000000001";
const int turnsPerConversation = 10;
const int warmup = 100;

using var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
var latencies = new List<double>(turns);
string? runId = null;
var turnInConversation = 0;
for (var i = 0; i < warmup + turns; i++)
{
    // A conversation: a first turn, then replies of unknown order numbers, each of which is asked again.
    var body = runId is null
        ? new JsonObject { ["run_input"] = new JsonObject { ["dynamic_variables"] = new JsonObject { ["name"] = "Ada" } } }
        : new JsonObject { ["run_id"] = runId, ["run_input"] = new JsonObject { ["user_message"] = $"{100000 + i % 800000}" } };
    var clock = Stopwatch.StartNew();
    using var response = await client.PostAsJsonAsync($"/v1/workflows/{workflow}/execute", body);
    var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
    var elapsed = clock.Elapsed.TotalMilliseconds;
    if (!response.IsSuccessStatusCode || answer?["status"]?.GetValue<string>() != "waiting_for_user_input")
    {
        Console.Error.WriteLine($"Turn {i} failed: {(int)response.StatusCode} {answer}");
        return 1;
    }

    runId = ++turnInConversation == turnsPerConversation ? null : answer["run_id"]!.GetValue<string>();
    turnInConversation %= turnsPerConversation;
    if (i >= warmup)
    {
        latencies.Add(elapsed);
    }
}

latencies.Sort();
double Percentile(double p) => latencies[(int)Math.Ceiling(p / 100 * latencies.Count) - 1];
Console.WriteLine($"turns: {latencies.Count} sequential (after {warmup} warm-up), {turnsPerConversation} per conversation");
Console.WriteLine($"median: {Percentile(50):F2} ms  p90: {Percentile(90):F2} ms  p99: {Percentile(99):F2} ms  max: {latencies[^1]:F2} ms  mean: {latencies.Average():F2} ms");
return 0;
