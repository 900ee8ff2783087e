using System.Text.Json.Nodes;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Adds up the run's model calls from their events (`llm`, `llm_condition`): tokens and latency, in total and per model.
/// Kept on the run so that operators read them without scanning events.
/// </summary>
internal static class LlmUsage
{
    public static (JsonObject Tokens, JsonObject Latency) Add(JsonObject? tokens, JsonObject? latency, IModelCall call)
    {
        var model = call.Model ?? "unknown";
        decimal input = call.InputTokens;
        decimal output = call.OutputTokens;
        var ms = (decimal)call.LatencyMs;

        tokens = (JsonObject?)tokens?.DeepClone() ?? new JsonObject();
        AddTokens(tokens, input, output);
        var byModel = tokens["by_model"] as JsonObject ?? new JsonObject();
        tokens["by_model"] = byModel;
        var modelTokens = byModel[model] as JsonObject ?? new JsonObject();
        byModel[model] = modelTokens;
        AddTokens(modelTokens, input, output);

        latency = (JsonObject?)latency?.DeepClone() ?? new JsonObject();
        AddLatency(latency, ms);
        var latencyByModel = latency["by_model"] as JsonObject ?? new JsonObject();
        latency["by_model"] = latencyByModel;
        var modelLatency = latencyByModel[model] as JsonObject ?? new JsonObject();
        latencyByModel[model] = modelLatency;
        AddLatency(modelLatency, ms);
        return (tokens, latency);
    }

    private static void AddTokens(JsonObject totals, decimal input, decimal output)
    {
        totals["calls"] = Number(totals["calls"]) + 1;
        totals["input_tokens"] = Number(totals["input_tokens"]) + input;
        totals["output_tokens"] = Number(totals["output_tokens"]) + output;
        totals["total_tokens"] = Number(totals["total_tokens"]) + input + output;
    }

    private static void AddLatency(JsonObject totals, decimal ms)
    {
        var calls = Number(totals["calls"]) + 1;
        var total = Number(totals["total_ms"]) + ms;
        totals["calls"] = calls;
        totals["total_ms"] = total;
        totals["mean_ms"] = Math.Round(total / calls, 1);
        totals["max_ms"] = Math.Max(Number(totals["max_ms"]), ms);
    }

    private static decimal Number(JsonNode? node) => JsonValues.TryGetNumber(node, out var n) ? n : 0;
}
