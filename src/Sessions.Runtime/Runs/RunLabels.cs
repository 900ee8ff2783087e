using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Validation;

namespace Sessions.Runtime.Runs;

/// <summary>
/// What a first turn may label its run with, to find it again: `metadata` (a flat object of strings, numbers and
/// booleans) and the origin fields (`origin_instance`, `origin_zone`, `origin_reference`). Every label is kept on the
/// run and, for search, as one text `name=value` (<see cref="Of"/>): the one form stores index and queries match
/// (<see cref="RunQuery.Labels"/>), so that no provider decides what a label means.
/// </summary>
public static partial class RunLabels
{
    public const int MaxMetadataKeys = 32;
    public const int MaxKeyLength = 64;
    public const int MaxValueLength = 512;

    public const string OriginInstance = "origin_instance";
    public const string OriginZone = "origin_zone";
    public const string OriginReference = "origin_reference";

    /// <summary>The prefix of a metadata label, and of its filter in a run list's query (`metadata.tier=gold`).</summary>
    public const string MetadataPrefix = "metadata.";

    /// <summary>A metadata key: letters, digits, `_`, `-` and `.`, starting with a letter, digit or `_`, at most 64.</summary>
    public static bool IsValidKey(string key) => KeyPattern().IsMatch(key);

    /// <summary>Checks <paramref name="metadata"/> (at <paramref name="path"/>) and names each problem in <paramref name="errors"/>.</summary>
    public static void CheckMetadata(JsonObject? metadata, string path, List<FieldError> errors)
    {
        if (metadata is null)
        {
            return;
        }

        if (metadata.Count > MaxMetadataKeys)
        {
            errors.Add(new(path, $"metadata has at most {MaxMetadataKeys} keys."));
        }

        foreach (var (key, value) in metadata)
        {
            if (!IsValidKey(key))
            {
                errors.Add(new($"{path}.{key}", $"A metadata key is 1 to {MaxKeyLength} letters, digits, '_', '-' or '.', starting with a letter, digit or '_'."));
            }
            else if (ValueText(value) is not { } text)
            {
                errors.Add(new($"{path}.{key}", "A metadata value is a string, a number or a boolean."));
            }
            else if (text.Length > MaxValueLength)
            {
                errors.Add(new($"{path}.{key}", $"A metadata value is at most {MaxValueLength} characters."));
            }
        }
    }

    /// <summary>Checks an origin field's value.</summary>
    public static void CheckOrigin(string? value, string path, List<FieldError> errors)
    {
        if (value is not null && (value.Length == 0 || value.Length > MaxValueLength))
        {
            errors.Add(new(path, $"An origin field is 1 to {MaxValueLength} characters."));
        }
    }

    /// <summary>The run's labels as searched: `origin_reference=...`, `metadata.<key>=<value as text>`.</summary>
    public static IReadOnlyList<string> Of(RunDocument run)
    {
        var labels = new List<string>();
        foreach (var (name, value) in new[] { (OriginInstance, run.OriginInstance), (OriginZone, run.OriginZone), (OriginReference, run.OriginReference) })
        {
            if (value is not null)
            {
                labels.Add(Label(name, value));
            }
        }

        foreach (var (key, value) in run.Metadata ?? [])
        {
            if (ValueText(value) is { } text)
            {
                labels.Add(Label(MetadataPrefix + key, text));
            }
        }

        return labels;
    }

    /// <summary>One label as stored and matched: its name, `=`, and the value's text.</summary>
    public static string Label(string name, string value) => $"{name}={value}";

    /// <summary>A value's text: a string as it is, a number as it was written, a boolean as `true` or `false`; else null.</summary>
    private static string? ValueText(JsonNode? value) =>
        value is JsonValue scalar
            ? scalar.GetValueKind() switch
            {
                JsonValueKind.String => scalar.GetValue<string>(),
                JsonValueKind.Number => scalar.ToJsonString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            }
            : null;

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex KeyPattern();
}
