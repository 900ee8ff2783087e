using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Validation;

/// <summary>
/// Binds a request body, already parsed and checked at the edge, to its typed contract record with the serializer,
/// strictly: snake_case names matched exactly, numbers as numbers, null only where the record allows it, required
/// fields required. Unknown fields are ignored, as the published protocol expects.
///
/// The serializer stops at its first error; a client deserves all of them at once. So when binding fails, each field
/// the body sent is bound again on its own (into its nested record, when it is one), every failure is named with its
/// JSON path in the order the body sent them, and the record is bound once more without the failed fields, so that the
/// caller's own checks (ranges, id formats) can name what is wrong with the rest in the same answer.
/// </summary>
public static class JsonBinder
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
        PropertyNameCaseInsensitive = false,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        MaxDepth = JsonText.DocumentMaxDepth,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>
    /// The body as <typeparamref name="T"/>. When fields are wrong, <paramref name="errors"/> names each, and the record
    /// holds the fields that were right (null when the rest cannot make one, as when a required field was wrong).
    /// </summary>
    public static T? Bind<T>(JsonNode? body, string path, List<FieldError> errors)
        where T : class
    {
        try
        {
            return body.Deserialize<T>(Options) ?? Missing<T>(path, errors);
        }
        catch (JsonException)
        {
            var before = errors.Count;
            var rest = body?.DeepClone();
            Collect(rest, Options.GetTypeInfo(typeof(T)), path, errors);
            if (errors.Count == before)
            {
                // The walk binds the same fields the serializer did; should they ever disagree, the body is still refused.
                errors.Add(new(path, $"The body is not {Expectation(typeof(T))}."));
                return null;
            }

            try
            {
                return rest.Deserialize<T>(Options);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    private static T? Missing<T>(string path, List<FieldError> errors)
        where T : class
    {
        errors.Add(new(path, $"{Name(path)} is {Expectation(typeof(T))}."));
        return null;
    }

    /// <summary>Names every wrong field of <paramref name="node"/> and takes it out, so that the rest binds.</summary>
    private static void Collect(JsonNode? node, JsonTypeInfo info, string path, List<FieldError> errors)
    {
        if (node is not JsonObject members)
        {
            errors.Add(new(path, $"{Name(path)} is {Expectation(info.Type)}."));
            return;
        }

        var byName = info.Properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var wrong = new List<string>();
        foreach (var (name, value) in members)
        {
            if (!byName.TryGetValue(name, out var property))
            {
                continue;
            }

            var fieldPath = $"{path}.{name}";
            if (value is null)
            {
                if (!property.IsSetNullable)
                {
                    errors.Add(new(fieldPath, $"{name} is {Expectation(property.PropertyType)}, not null."));
                    wrong.Add(name);
                }

                continue;
            }

            try
            {
                value.Deserialize(property.PropertyType, Options);
            }
            catch (JsonException)
            {
                var fieldInfo = Options.GetTypeInfo(property.PropertyType);
                if (fieldInfo.Kind == JsonTypeInfoKind.Object && !typeof(JsonNode).IsAssignableFrom(property.PropertyType) && value is JsonObject)
                {
                    Collect(value, fieldInfo, fieldPath, errors);
                }
                else
                {
                    errors.Add(new(fieldPath, $"{name} is {Expectation(property.PropertyType)}."));
                    wrong.Add(name);
                }
            }
        }

        foreach (var required in info.Properties.Where(p => p.IsRequired && !members.ContainsKey(p.Name)))
        {
            errors.Add(new($"{path}.{required.Name}", $"{required.Name} is required."));
        }

        foreach (var name in wrong)
        {
            members.Remove(name);
        }
    }

    private static string Name(string path) => path == "$" ? "The body" : path[(path.LastIndexOf('.') + 1)..];

    /// <summary>What a field of this type must be, in the words of JSON.</summary>
    private static string Expectation(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => "a string",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(double) || type == typeof(decimal) => "a number",
            _ when type == typeof(JsonArray) => "an array",
            _ when typeof(IEnumerable<string>).IsAssignableFrom(type) => "an array of strings",
            _ when typeof(IEnumerable).IsAssignableFrom(type) && !typeof(JsonObject).IsAssignableFrom(type) => "an array",
            _ => "an object",
        };
    }
}
