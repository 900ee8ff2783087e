using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Templates;

/// <summary>Turns the run's JSON variables into the plain CLR values that Handlebars.Net walks.</summary>
internal static class TemplateModel
{
    public static Dictionary<string, object?> From(JsonObject variables)
    {
        var model = new Dictionary<string, object?>(variables.Count, StringComparer.Ordinal);
        foreach (var (name, value) in variables)
        {
            model[name] = ToClr(value);
        }

        return model;
    }

    public static object? ToClr(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => From(obj),
        JsonArray array => array.Select(ToClr).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.TryGetValue<long>(out var whole) ? whole : JsonValues.TryGetNumber(value, out var number) ? Simplest(number) : null,
            _ => null,
        },
        _ => null,
    };

    /// <summary>Whole numbers render as `3`, not `3.0` or `3.00`.</summary>
    private static object Simplest(decimal number) =>
        number == decimal.Truncate(number) && number is >= long.MinValue and <= long.MaxValue ? (long)number : (double)number;
}
