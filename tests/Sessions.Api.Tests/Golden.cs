using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sessions.Api.Tests;

/// <summary>
/// Golden files: the value is scrubbed (ids and times become stable placeholders), written as pretty JSON and compared
/// with the committed `Golden/NAME.verified.json`. A mismatch writes `NAME.received.json` beside it and fails with the diff;
/// to accept a change, review it and rename received to verified.
/// </summary>
public static partial class Golden
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Verify(string name, JsonNode value, [CallerFilePath] string callerFile = "")
    {
        var folder = Path.Combine(Path.GetDirectoryName(callerFile)!, "Golden");
        var verifiedPath = Path.Combine(folder, $"{name}.verified.json");
        var receivedPath = Path.Combine(folder, $"{name}.received.json");
        var received = Scrub(value).ToJsonString(Pretty).ReplaceLineEndings("\n") + "\n";
        var verified = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).ReplaceLineEndings("\n") : null;
        if (received == verified)
        {
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, received);
        Assert.Fail(verified is null
            ? $"No golden file {verifiedPath}; wrote {receivedPath}. Review it and rename it to .verified.json."
            : $"{name} differs from its golden file; wrote {receivedPath}.\n{Diff(verified, received)}");
    }

    /// <summary>Each distinct ObjectId becomes {id_1}, {id_2}... in order of appearance; every timestamp becomes {timestamp}, and a time inside a text {time}.</summary>
    public static JsonNode Scrub(JsonNode value)
    {
        var ids = new Dictionary<string, string>();
        return Walk(value.DeepClone(), null);

        JsonNode Walk(JsonNode node, string? propertyName)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var key in obj.Select(p => p.Key).ToList())
                    {
                        if (obj[key] is { } child)
                        {
                            obj[key] = Walk(child.DeepClone(), key);
                        }
                    }

                    return obj;
                case JsonArray array:
                    for (var i = 0; i < array.Count; i++)
                    {
                        if (array[i] is { } item)
                        {
                            array[i] = Walk(item.DeepClone(), null);
                        }
                    }

                    return array;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    var text = v.GetValue<string>();
                    if (propertyName is "timestamp" or "created_at" or "updated_at" || IsoTime().IsMatch(text))
                    {
                        return JsonValue.Create("{timestamp}");
                    }

                    if (propertyName == "trace_id")
                    {
                        return JsonValue.Create("{trace_id}");
                    }

                    text = TimeInText().Replace(text, "{time}");
                    return JsonValue.Create(ObjectIdPattern().Replace(text, m =>
                    {
                        if (!ids.TryGetValue(m.Value, out var placeholder))
                        {
                            placeholder = $"{{id_{ids.Count + 1}}}";
                            ids[m.Value] = placeholder;
                        }

                        return placeholder;
                    }));
                default:
                    return node;
            }
        }
    }

    private static string Diff(string expected, string actual)
    {
        var left = expected.Split('\n');
        var right = actual.Split('\n');
        var first = 0;
        while (first < left.Length && first < right.Length && left[first] == right[first])
        {
            first++;
        }

        var text = new StringBuilder($"First difference at line {first + 1}:\n");
        for (var i = Math.Max(0, first - 3); i < Math.Min(Math.Max(left.Length, right.Length), first + 8); i++)
        {
            var l = i < left.Length ? left[i] : "<end>";
            var r = i < right.Length ? right[i] : "<end>";
            text.Append(l == r ? $"   {l}\n" : $" - {l}\n + {r}\n");
        }

        return text.ToString();
    }

    [GeneratedRegex("\\b[0-9a-f]{24}\\b")]
    private static partial Regex ObjectIdPattern();

    /// <summary>A time written for people inside a text (the Markdown transcript's turn headings).</summary>
    [GeneratedRegex("\\b\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC\\b")]
    private static partial Regex TimeInText();

    [GeneratedRegex("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}")]
    private static partial Regex IsoTime();
}
