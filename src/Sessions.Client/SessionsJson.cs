using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Client;

/// <summary>The wire's JSON: snake_case names, enums as their wire names, nulls left out of requests.</summary>
public static class SessionsJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
