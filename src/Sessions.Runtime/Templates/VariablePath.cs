using System.Text.Json.Nodes;

namespace Sessions.Runtime.Templates;

/// <summary>Dotted paths into the run's variables, as used by conditions and templates: `customer.address.city`, `items.0`.</summary>
public static class VariablePath
{
    public static JsonNode? Get(JsonObject variables, string path)
    {
        JsonNode? current = variables;
        foreach (var segment in path.Split('.'))
        {
            current = current switch
            {
                JsonObject obj => obj.TryGetPropertyValue(segment, out var child) ? child : null,
                JsonArray array when int.TryParse(segment, out var index) && index >= 0 && index < array.Count => array[index],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    public static bool Exists(JsonObject variables, string path)
    {
        var dot = path.LastIndexOf('.');
        if (dot < 0)
        {
            return variables.ContainsKey(path);
        }

        return Get(variables, path[..dot]) is JsonObject parent && parent.ContainsKey(path[(dot + 1)..]);
    }
}
