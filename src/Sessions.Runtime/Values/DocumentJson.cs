using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Values;

/// <summary>The one JSON shape of stored documents, shared by every provider so that their documents are interchangeable.</summary>
public static class DocumentJson
{
    /// <summary>
    /// Stored text is never embedded in HTML, so it keeps non-ASCII text and characters such as `+` as they are instead
    /// of six-byte escapes: a conversation in any language costs its own size.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = Values.JsonText.DocumentMaxDepth,
    };
}
