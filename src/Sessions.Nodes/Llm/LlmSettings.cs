using Sessions.Runtime.Errors;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Validation;

namespace Sessions.Nodes.Llm;

/// <summary>What `llm` nodes and `llm_condition`s share: reading the model settings of a node, history, event fields.</summary>
internal static class LlmSettings
{
    /// <summary>
    /// Reads `llm_config` and the fields that override it (model, base_url, api_key_secret, temperature, max_tokens);
    /// a node that ends up with no endpoint or no model is refused at upload.
    /// </summary>
    public static (string? Name, LlmConfig Overrides) Compile(NodeSpec spec, LlmGateway gateway, JsonObject? json = null, string? path = null)
    {
        json ??= spec.Json;
        path ??= spec.Path;
        string? Text(string field)
        {
            if (json[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                return v.GetValue<string>();
            }

            if (json[field] is not null)
            {
                spec.Problems.ErrorOnUpload($"{path}.{field}", "invalid_type", $"\"{field}\" is a string.");
            }

            return null;
        }

        float? temperature = null;
        if (json["temperature"] is { } t)
        {
            temperature = t is JsonValue tv && tv.GetValueKind() == JsonValueKind.Number && tv.TryGetValue<float>(out var value) ? value : null;
            if (temperature is null)
            {
                spec.Problems.ErrorOnUpload($"{path}.temperature", "invalid_type", "\"temperature\" is a number, such as 0.2.");
            }
        }

        int? maxTokens = null;
        if (json["max_tokens"] is { } m)
        {
            maxTokens = m is JsonValue mv && mv.TryGetValue<int>(out var most) && most >= 1 ? most : null;
            if (maxTokens is null)
            {
                spec.Problems.ErrorOnUpload($"{path}.max_tokens", "invalid_value", $"\"max_tokens\" is a whole number from 1, not {ProblemText.Shorten(m.ToJsonString())}.");
            }
        }

        var name = Text("llm_config");
        if (name is not null && !gateway.Configs.ContainsKey(name))
        {
            spec.Problems.Error($"{path}.llm_config", "unknown_llm_config", $"No model configuration is named \"{name}\"; configured: {string.Join(", ", gateway.Configs.Keys)}.");
        }

        var overrides = new LlmConfig
        {
            BaseUrl = Text("base_url"),
            Model = Text("model"),
            ApiKeySecret = Text("api_key_secret"),
            Temperature = temperature,
            MaxTokens = maxTokens,
        };
        var resolved = gateway.Resolve(name, overrides);
        if (resolved.BaseUrl is null)
        {
            spec.Problems.Error(path, "missing_llm_endpoint", "Name an \"llm_config\" or give a \"base_url\": the node needs an endpoint to call.");
        }
        else if (!Uri.TryCreate(resolved.BaseUrl, UriKind.Absolute, out _))
        {
            spec.Problems.Error($"{path}.base_url", "invalid_value", "\"base_url\" is an absolute URL, such as http://127.0.0.1:8089/v1.");
        }

        if (resolved.Model is null)
        {
            spec.Problems.Error($"{path}.model", "missing_field", "Name a \"model\" here or in the llm_config.");
        }

        return (name, overrides);
    }

    public static IEnumerable<LlmMessage> History(JsonArray conversation) =>
        conversation.OfType<JsonObject>().Select(m => new LlmMessage(m["role"]?.GetValue<string>() ?? "user", m["text"]?.GetValue<string>() ?? string.Empty));

    /// <summary>The fields of a model call's event; <paramref name="mode"/> is the `llm` node's (a branch's question has none).</summary>
    public static ModelCalled Called(LlmReply reply, LlmMode? mode) =>
        new(mode, reply.Model, reply.Provider, reply.InputTokens, reply.OutputTokens, reply.LatencyMs, reply.FallbackUsed, reply.Text);

    public static ModelAsked Asked(LlmReply reply, string question, bool yes) =>
        new(question, yes ? "yes" : "no", reply.Model, reply.Provider, reply.InputTokens, reply.OutputTokens, reply.LatencyMs, reply.FallbackUsed, reply.Text);
}
