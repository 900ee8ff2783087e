using Sessions.Runtime.Errors;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Nodes.Llm;
using Sessions.Runtime.Inputs;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Values;

namespace Sessions.Nodes;

/// <summary>
/// `llm`: calls a model with templated messages (and, if asked, the conversation so far). In `say` mode the reply is
/// spoken to the user (and with `wait_for_reply` the node then waits like `ask`); in `worker` mode the reply, or the
/// fields of its JSON, go into variables. Every call is recorded as an `llm` event with its tokens and latency.
/// </summary>
public sealed class LlmHandler(LlmGateway gateway) : INodeHandler
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant"];
    private static readonly HashSet<string> OutputTypes = ["string", "number", "integer", "boolean", "object", "array"];

    public string NodeType => "llm";

    /// <summary>A `say` node with wait_for_reply waits like `ask`, so a chat loop through an llm node is not flagged.</summary>
    public bool WaitsForPeople => true;

    /// <summary>In worker mode the reply only fills variables, so the node can be a step.</summary>
    public bool RunsAsStep(object? config) => config is LlmNode { Mode: LlmMode.Worker };

    public object? Compile(NodeSpec spec)
    {
        var modeName = spec.String("mode", required: false);
        var mode = LlmMode.Say;
        if (modeName is not null && !WireNames<LlmMode>.TryParse(modeName, out mode))
        {
            spec.Error("mode", "invalid_value", $"\"mode\" is {string.Join(" or ", WireNames<LlmMode>.All)}, not \"{ProblemText.Shorten(modeName)}\".");
        }

        var config = LlmSettings.Compile(spec, gateway);
        var messages = new List<(string Role, Template Content)>();
        if (spec.Json["messages"] is not JsonArray array || array.Count == 0)
        {
            spec.Error("messages", "missing_field", "\"messages\" is a non-empty array of { \"role\", \"content\" }.");
        }
        else
        {
            for (var i = 0; i < array.Count; i++)
            {
                var path = $"{spec.FieldPath("messages")}[{i}]";
                var message = array[i] as JsonObject;
                var role = message?["role"] is JsonValue r && r.GetValueKind() == JsonValueKind.String ? r.GetValue<string>() : null;
                var content = message?["content"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : null;
                if (role is null || !Roles.Contains(role) || content is null)
                {
                    spec.Problems.Error(path, "invalid_message", "A message is { \"role\": \"system\"|\"user\"|\"assistant\", \"content\": template }.");
                }
                else if (spec.CompileTemplate(content, $"{path}.content") is { } template)
                {
                    messages.Add((role, template));
                }
            }
        }

        var outputs = new List<(string Name, string Type)>();
        if (spec.Json["outputs"] is not (null or JsonArray))
        {
            spec.Problems.ErrorOnUpload(spec.FieldPath("outputs"), "invalid_type", $"\"outputs\" is an array of {{ \"name\": variable, \"type\": {string.Join("|", OutputTypes)} }}.");
        }
        else if (spec.Json["outputs"] is JsonArray declared)
        {
            for (var i = 0; i < declared.Count; i++)
            {
                var output = declared[i] as JsonObject;
                var name = output?["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;
                var type = output?["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "string";
                if (output?["type"] is { } sent && sent.GetValueKind() != JsonValueKind.String)
                {
                    // A type that is not text was once read as "string": refused from now on, kept so for a stored version.
                    spec.Problems.ErrorOnUpload($"{spec.FieldPath("outputs")}[{i}].type", "invalid_output", $"An output's \"type\" is one of {string.Join(", ", OutputTypes)}.");
                }

                if (name is null || !AskHandler.VariableName().IsMatch(name) || !OutputTypes.Contains(type))
                {
                    spec.Problems.Error($"{spec.FieldPath("outputs")}[{i}]", "invalid_output", $"An output is {{ \"name\": variable, \"type\": {string.Join("|", OutputTypes)} }}.");
                }
                else
                {
                    outputs.Add((name, type));
                }
            }
        }

        var variable = spec.String("variable", required: false);
        if (mode == LlmMode.Worker && outputs.Count == 0 && variable is null)
        {
            spec.Error("variable", "missing_field", "A worker stores its reply in \"variable\", or the fields of its JSON reply per \"outputs\".");
        }

        var waitForReply = spec.Boolean("wait_for_reply", checkedSinceStored: true) ?? false;
        var includeHistory = spec.Boolean("include_history", checkedSinceStored: true) ?? false;
        return new LlmNode(mode, config.Name, config.Overrides, messages, includeHistory, waitForReply && mode == LlmMode.Say, variable, outputs);
    }

    public async ValueTask<NodeResult> ExecuteAsync(NodeContext context, CancellationToken cancellationToken)
    {
        var node = context.Config<LlmNode>();
        var config = gateway.Resolve(node.ConfigName, node.Overrides);
        var rendered = node.Messages.Select(m => new LlmMessage(m.Role, m.Content.Render(context.Variables))).ToList();
        var messages = rendered.Where(m => m.Role == "system")
            .Concat(node.IncludeHistory ? LlmSettings.History(context.Conversation) : [])
            .Concat(rendered.Where(m => m.Role != "system"))
            .ToList();
        var json = node.Mode == LlmMode.Worker && node.Outputs.Count > 0;
        var reply = await gateway.CompleteAsync(config, messages, context, json, node.Mode == LlmMode.Say ? context.OnDelta : null, cancellationToken);

        var result = NodeResult.Next(context.Node.Next!).Emit(LlmSettings.Called(reply, node.Mode));
        if (node.Mode == LlmMode.Say)
        {
            result = result.Emit(new Said(reply.Text));
            if (!node.WaitForReply)
            {
                return result;
            }

            // Waits like `ask`, with the model's words as the prompt; the events of the call go with it.
            var wait = NodeResult.AwaitInput(new InputHint(context.Node.Id, reply.Text, InputSpec.Parse(null, string.Empty, new())));
            return result.Events.Aggregate(wait, (current, e) => current.Emit(e));
        }

        if (!json)
        {
            return result.Assign(new Dictionary<string, JsonNode?> { [node.Variable!] = reply.Text });
        }

        var parsed = ParseJson(reply.Text) ?? throw new InvalidOperationException($"The model's reply is not a JSON object: {Shorten(reply.Text)}");
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (name, type) in node.Outputs)
        {
            values[name] = Coerce(parsed[name], type);
        }

        return result.Assign(values);
    }

    public NodeResult AcceptReply(NodeContext context, string reply)
    {
        var node = context.Config<LlmNode>();
        var next = NodeResult.Next(context.Node.Next!);
        return node.Variable is null ? next : next.Assign(new Dictionary<string, JsonNode?> { [node.Variable] = reply });
    }

    private static JsonObject? ParseJson(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.StartsWith("```", StringComparison.Ordinal))
        {
            trimmed = trimmed.Trim('`').Trim();
            trimmed = trimmed.StartsWith("json", StringComparison.OrdinalIgnoreCase) ? trimmed[4..] : trimmed;
        }

        try
        {
            return JsonNode.Parse(trimmed) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonNode? Coerce(JsonNode? value, string type) => (type, value) switch
    {
        (_, null) => null,
        ("string", JsonValue v) when v.GetValueKind() == JsonValueKind.String => v.DeepClone(),
        ("string", _) => JsonValue.Create(JsonText.Serialize(value)),
        ("number", JsonValue v) when Runtime.Values.JsonValues.TryGetNumber(v, out var n) => JsonValue.Create(n),
        ("integer", JsonValue v) when Runtime.Values.JsonValues.TryGetNumber(v, out var n) && n == decimal.Truncate(n) => JsonValue.Create((long)n),
        ("boolean", JsonValue v) when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.DeepClone(),
        ("object", JsonObject o) => o.DeepClone(),
        ("array", JsonArray a) => a.DeepClone(),
        _ => throw new InvalidOperationException($"The model's output does not have the declared type {type}: {Shorten(JsonText.Serialize(value))}"),
    };

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";

    private sealed record LlmNode(
        LlmMode Mode,
        string? ConfigName,
        LlmConfig Overrides,
        IReadOnlyList<(string Role, Template Content)> Messages,
        bool IncludeHistory,
        bool WaitForReply,
        string? Variable,
        IReadOnlyList<(string Name, string Type)> Outputs);
}
