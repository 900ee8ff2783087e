namespace Sessions.Nodes.Llm;

/// <summary>Named model configurations, bound from `Sessions:Llm`; nodes pick one by name and may override its fields.</summary>
public sealed class LlmOptions
{
    public const string Section = "Sessions:Llm";

    public Dictionary<string, LlmConfig> Configs { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Where and how to call a model: any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp).</summary>
public sealed record LlmConfig
{
    public string? BaseUrl { get; init; }

    public string? Model { get; init; }

    /// <summary>The name of a tenant secret holding the API key; without one the request carries no key (local servers).</summary>
    public string? ApiKeySecret { get; init; }

    public float? Temperature { get; init; }

    public int? MaxTokens { get; init; }

    public double TimeoutSeconds { get; init; } = 30;

    /// <summary>Retries of transient failures (429, 5xx, timeouts, network errors) before the fallback, if any, is tried.</summary>
    public int Retries { get; init; } = 2;

    public double RetryDelaySeconds { get; init; } = 0.5;

    /// <summary>The name of the configuration to use once this one has exhausted its retries.</summary>
    public string? Fallback { get; init; }

    /// <summary>A label for events and stats; defaults to the endpoint's host.</summary>
    public string? Provider { get; init; }

    /// <summary>This configuration with the fields a node sets laid over it.</summary>
    public LlmConfig With(LlmConfig overrides) => this with
    {
        BaseUrl = overrides.BaseUrl ?? BaseUrl,
        Model = overrides.Model ?? Model,
        ApiKeySecret = overrides.ApiKeySecret ?? ApiKeySecret,
        Temperature = overrides.Temperature ?? Temperature,
        MaxTokens = overrides.MaxTokens ?? MaxTokens,
    };
}
