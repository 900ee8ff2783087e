using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Storage;

/// <summary>The one JSON shape of stored documents, shared by every provider so that their documents are interchangeable.</summary>
public static class DocumentJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
