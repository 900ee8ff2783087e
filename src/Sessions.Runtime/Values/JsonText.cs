using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Values;

/// <summary>
/// What JSON the server keeps, checked where it comes in from outside (request bodies, responses of called services):
/// text every store can hold, nested no deeper than every reader and writer of the server accepts.
/// </summary>
public static class JsonText
{
    /// <summary>
    /// The depth every reader and writer of stored documents and answers accepts. It is well above any depth allowed in
    /// (<c>Sessions:Turns:MaxJsonDepth</c>, at most <see cref="MaxConfigurableDepth"/>), so whatever was accepted can always
    /// be written out, stored, and read back inside the envelopes around it.
    /// </summary>
    public const int DocumentMaxDepth = 256;

    /// <summary>
    /// The largest depth that may be configured for input: a template may place a variable inside an object as deep as the
    /// definition allows, and the result still fits inside <see cref="DocumentMaxDepth"/> with its envelopes.
    /// </summary>
    public const int MaxConfigurableDepth = 120;

    /// <summary>Options for parsing stored documents and definitions, which were checked on their way in.</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = DocumentMaxDepth };

    /// <summary>Writes a value as compact JSON, at any depth the server keeps (unlike <c>ToJsonString()</c>'s default of 64).</summary>
    public static string Serialize(JsonNode node) => node.ToJsonString(DocumentJson.Options);

    /// <summary>Parses JSON the server wrote itself (a stored document or definition).</summary>
    public static JsonNode? ParseStored(string json) => JsonNode.Parse(json, documentOptions: DocumentOptions);

    /// <summary>
    /// The first name or string in <paramref name="node"/> that no store can keep, with its JSON path: text that is not
    /// valid Unicode (invalid UTF-8 bytes, a lone surrogate escape such as <c>\ud800</c>) or that holds a NUL character,
    /// which PostgreSQL cannot keep in text at all. Null when every text is keepable. Reading every text here is also what
    /// makes it fail now, at the edge, instead of later when a turn or a read first touches it.
    /// </summary>
    public static UnkeepableText? FindUnkeepable(JsonNode? node, string path = "$")
    {
        switch (node)
        {
            case JsonObject obj:
                List<KeyValuePair<string, JsonNode?>> members;
                try
                {
                    members = [.. obj];
                }
                catch (InvalidOperationException)
                {
                    return new UnkeepableText(path, "a property name is not valid Unicode (invalid UTF-8 or a lone surrogate)");
                }

                foreach (var (name, value) in members)
                {
                    var inner = $"{path}.{name}";
                    if (Unkeepable(name) is { } what)
                    {
                        return new UnkeepableText(inner, $"the property name {what}");
                    }

                    if (FindUnkeepable(value, inner) is { } found)
                    {
                        return found;
                    }
                }

                return null;

            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (FindUnkeepable(array[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;

            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                string text;
                try
                {
                    text = value.GetValue<string>();
                }
                catch (InvalidOperationException)
                {
                    return new UnkeepableText(path, "the text is not valid Unicode (invalid UTF-8 or a lone surrogate)");
                }

                return Unkeepable(text) is { } problem ? new UnkeepableText(path, $"the text {problem}") : null;

            default:
                return null;
        }
    }

    /// <summary>
    /// The text with every character no store can keep (NUL, a lone surrogate) replaced by U+FFFD, as invalid UTF-8 is
    /// replaced when bytes are decoded: for text from a called service, which cannot be refused, only cleaned.
    /// </summary>
    public static string Keepable(string text)
    {
        var first = FirstUnkeepableChar(text);
        if (first < 0)
        {
            return text;
        }

        var chars = text.ToCharArray();
        for (var i = first; i < chars.Length; i++)
        {
            if (chars[i] == '\0')
            {
                chars[i] = '\uFFFD';
            }
            else if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }

    /// <summary>How many containers deep a value nests: 0 for a scalar, 1 for `[]` or `{}`, 2 for `[[]]`.</summary>
    public static int Depth(JsonNode? node) => node switch
    {
        JsonObject obj => 1 + obj.Select(p => Depth(p.Value)).DefaultIfEmpty(0).Max(),
        JsonArray array => 1 + array.Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    /// <summary>What is wrong with text that was decoded, or null: names are unescaped without a check for surrogates.</summary>
    private static string? Unkeepable(string text)
    {
        var at = FirstUnkeepableChar(text);
        return at < 0 ? null
            : text[at] == '\0' ? "contains a NUL character (\\u0000)"
            : "contains a lone surrogate, which is not valid Unicode";
    }

    private static int FirstUnkeepableChar(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return i;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>Where a text no store can keep was found, and what is wrong with it.</summary>
public sealed record UnkeepableText(string Path, string Reason);
