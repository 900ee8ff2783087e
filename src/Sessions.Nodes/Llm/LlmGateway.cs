using Sessions.Runtime.Telemetry;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Values;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Recordings;

namespace Sessions.Nodes.Llm;

/// <summary>A message for the model.</summary>
public sealed record LlmMessage(string Role, string Content);

/// <summary>What one call came back with, and what it cost.</summary>
public sealed record LlmReply(string Text, string Model, string Provider, int InputTokens, int OutputTokens, double LatencyMs, bool FallbackUsed);

/// <summary>
/// Calls OpenAI-compatible chat endpoints through the official SDK: Polly retries transient failures with a timeout per
/// attempt (the SDK's own retries are off, so there is one policy), then the fallback configuration, if any.
/// </summary>
public sealed class LlmGateway(IOptions<LlmOptions> options, ISecretStore secrets, IHttpClientFactory http, IOptions<TelemetryOptions> telemetry)
{
    /// <summary>The named client of <see cref="IHttpClientFactory"/> model calls go through (configured by AddSessionsNodes).</summary>
    public const string ClientName = "llm";

    private const string NoKey = "no-key";

    public IReadOnlyDictionary<string, LlmConfig> Configs => options.Value.Configs;

    /// <summary>The configuration a node names (if any) with the node's own fields over it.</summary>
    public LlmConfig Resolve(string? configName, LlmConfig overrides) =>
        (configName is not null && Configs.TryGetValue(configName, out var named) ? named : new LlmConfig()).With(overrides);

    /// <summary>
    /// A node's model call, made through its turn's <see cref="CallLedger"/>: kept with the turn (what was asked, with the
    /// API key's secret by name only, and the reply), and answered from that recording when a recorded replay runs it.
    /// </summary>
    public async Task<LlmReply> CompleteAsync(
        LlmConfig config, IReadOnlyList<LlmMessage> messages, NodeContext context, bool json, Action<string>? onDelta, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["base_url"] = config.BaseUrl,
            ["model"] = config.Model,
            ["temperature"] = config.Temperature,
            ["max_tokens"] = config.MaxTokens,
            ["json"] = json,
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
        };
        var answer = await context.Calls.CallAsync(
            context.Node.Id,
            RecordedCall.Llm,
            request,
            async token => JsonSerializer.SerializeToNode(await CompleteLiveAsync(config, messages, context.TenantId, json, onDelta, token), DocumentJson.Options)!.AsObject(),
            cancellationToken);
        return answer.Deserialize<LlmReply>(DocumentJson.Options)!;
    }

    private async Task<LlmReply> CompleteLiveAsync(
        LlmConfig config, IReadOnlyList<LlmMessage> messages, string tenantId, bool json, Action<string>? onDelta, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(config, messages, tenantId, json, onDelta, fallbackUsed: false, cancellationToken);
        }
        catch (Exception ex) when (IsTransient(ex) && config.Fallback is { } name && Configs.TryGetValue(name, out var fallback))
        {
            return await CallAsync(fallback, messages, tenantId, json, onDelta, fallbackUsed: true, cancellationToken);
        }
    }

    private async Task<LlmReply> CallAsync(
        LlmConfig config, IReadOnlyList<LlmMessage> messages, string tenantId, bool json, Action<string>? onDelta, bool fallbackUsed, CancellationToken cancellationToken)
    {
        var baseUrl = config.BaseUrl ?? throw new InvalidOperationException("The model configuration has no base_url.");
        var model = config.Model ?? throw new InvalidOperationException("The model configuration has no model.");
        var key = config.ApiKeySecret is { } secret
            ? secrets.Get(tenantId, secret) ?? throw new InvalidOperationException($"The secret '{secret}' is not configured for this tenant.")
            : NoKey;
        // A client per call over the factory's pooled handlers (which it recycles, so DNS changes are seen): cheap beside
        // the model call itself, and no credential outlives the call that read it.
        var client = NewClient(baseUrl, model, key, http.CreateClient(ClientName));
        var chat = messages.Select<LlmMessage, ChatMessage>(m => m.Role switch
        {
            "system" => new SystemChatMessage(m.Content),
            "assistant" => new AssistantChatMessage(m.Content),
            _ => new UserChatMessage(m.Content),
        }).ToList();
        var request = new ChatCompletionOptions { Temperature = config.Temperature, MaxOutputTokenCount = config.MaxTokens };
        if (json)
        {
            request.ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat();
        }

        // A GenAI client span (OpenTelemetry's conventions), never with the prompt or the reply: they are the run's.
        var provider = config.Provider ?? new Uri(baseUrl).Host;
        using var span = SessionsTelemetry.Source.StartActivity($"chat {model}", ActivityKind.Client);
        span?.SetTag(SessionsTelemetry.GenAiOperation, "chat");
        span?.SetTag(SessionsTelemetry.GenAiProvider, provider);
        span?.SetTag(SessionsTelemetry.GenAiRequestModel, model);
        span?.SetTag(SessionsTelemetry.ServerAddress, new Uri(baseUrl).Host);
        if (span is not null && telemetry.Value.RecordContent)
        {
            // Only when an operator opted in (Sessions:Telemetry:RecordContent): the conversation, as GenAI's conventions write it.
            span.SetTag(SessionsTelemetry.GenAiInputMessages, GenAiMessages(messages.Select(m => (m.Role, m.Content))));
        }

        var clock = Stopwatch.StartNew();
        string text;
        string? usedModel;
        int input, output;
        try
        {
            (text, usedModel, input, output) = await Pipeline(config).ExecuteAsync(
                async token => onDelta is null ? await CompleteAsync(client, chat, request, token) : await StreamAsync(client, chat, request, onDelta, token),
                cancellationToken);
        }
        catch (Exception failure)
        {
            span?.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            throw;
        }

        var tags = new TagList { { SessionsTelemetry.GenAiOperation, "chat" }, { SessionsTelemetry.GenAiProvider, provider }, { SessionsTelemetry.GenAiRequestModel, model } };
        SessionsTelemetry.ModelDuration.Record(clock.Elapsed.TotalSeconds, tags);
        SessionsTelemetry.ModelTokens.Record(input, [.. tags, new(SessionsTelemetry.GenAiTokenType, "input")]);
        SessionsTelemetry.ModelTokens.Record(output, [.. tags, new(SessionsTelemetry.GenAiTokenType, "output")]);
        span?.SetTag(SessionsTelemetry.GenAiResponseModel, usedModel ?? model);
        span?.SetTag(SessionsTelemetry.GenAiInputTokens, input);
        span?.SetTag(SessionsTelemetry.GenAiOutputTokens, output);
        if (span is not null && telemetry.Value.RecordContent)
        {
            span.SetTag(SessionsTelemetry.GenAiOutputMessages, GenAiMessages([("assistant", text)]));
        }

        // The model's text is kept in the run; a NUL or a lone surrogate in it would fail every later commit on PostgreSQL.
        return new LlmReply(JsonText.Keepable(text), usedModel ?? model, provider, input, output, Math.Round(clock.Elapsed.TotalMilliseconds, 1), fallbackUsed);
    }

    /// <summary>Messages as `gen_ai.input.messages` / `gen_ai.output.messages` hold them: JSON, each a role and text parts.</summary>
    private static string GenAiMessages(IEnumerable<(string Role, string Text)> messages) =>
        new System.Text.Json.Nodes.JsonArray(messages.Select(m => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
        {
            ["role"] = m.Role,
            ["parts"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["type"] = "text", ["content"] = m.Text }),
        }).ToArray()).ToJsonString();

    private static async Task<(string, string?, int, int)> CompleteAsync(ChatClient client, List<ChatMessage> chat, ChatCompletionOptions request, CancellationToken token)
    {
        ChatCompletion completion = await client.CompleteChatAsync(chat, request, token);
        var text = string.Concat(completion.Content.Select(part => part.Text));
        return (text, completion.Model, completion.Usage?.InputTokenCount ?? 0, completion.Usage?.OutputTokenCount ?? 0);
    }

    private static async Task<(string, string?, int, int)> StreamAsync(ChatClient client, List<ChatMessage> chat, ChatCompletionOptions request, Action<string> onDelta, CancellationToken token)
    {
        var text = new System.Text.StringBuilder();
        string? model = null;
        int input = 0, output = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(chat, request, token))
        {
            model ??= update.Model;
            foreach (var part in update.ContentUpdate)
            {
                if (!string.IsNullOrEmpty(part.Text))
                {
                    text.Append(part.Text);
                    onDelta(JsonText.Keepable(part.Text));
                }
            }

            if (update.Usage is { } usage)
            {
                (input, output) = (usage.InputTokenCount, usage.OutputTokenCount);
            }
        }

        return (text.ToString(), model, input, output);
    }

    private static ChatClient NewClient(string baseUrl, string model, string key, HttpClient transport)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(baseUrl),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMinutes(10),
            Transport = new HttpClientPipelineTransport(transport),
        };
        if (key == NoKey)
        {
            clientOptions.AddPolicy(new WithoutAuthorization(), PipelinePosition.BeforeTransport);
        }

        return new ChatClient(model, new ApiKeyCredential(key), clientOptions);
    }

    private static ResiliencePipeline Pipeline(LlmConfig config)
    {
        var builder = new ResiliencePipelineBuilder();
        if (config.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = config.Retries,
                Delay = TimeSpan.FromSeconds(config.RetryDelaySeconds),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            });
        }

        return builder.AddTimeout(TimeSpan.FromSeconds(config.TimeoutSeconds)).Build();
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        ClientResultException result => result.Status is 0 or (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests or >= 500,
        TimeoutRejectedException or HttpRequestException or IOException => true,
        _ => false,
    };

    /// <summary>Local servers take no key: the SDK insists on a credential, so its header is taken off again.</summary>
    private sealed class WithoutAuthorization : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
