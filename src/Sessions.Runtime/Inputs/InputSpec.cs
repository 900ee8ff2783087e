using Sessions.Runtime.Errors;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Inputs;

public enum InputKind
{
    Text,
    Number,
    Integer,
    Boolean,
    Choice,
    File,
}

public sealed record ChoiceOption(JsonNode Value, string Label);

/// <summary>The reply an `ask` node accepts: its kind and constraints, parsed at upload and checked on every reply.</summary>
public sealed class InputSpec
{
    /// <summary>The kind of an input that takes a file (a multipart file part) instead of text.</summary>
    public const string FileKind = "file";

    private static readonly Dictionary<string, InputKind> Kinds = Enum.GetValues<InputKind>().ToDictionary(k => k.ToString().ToLowerInvariant());
    private static readonly HashSet<string> Yes = new(["true", "yes", "y"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> No = new(["false", "no", "n"], StringComparer.OrdinalIgnoreCase);

    private InputSpec(InputKind kind, JsonObject json)
    {
        Kind = kind;
        Json = json;
    }

    public InputKind Kind { get; }

    public int? MinLength { get; private init; }

    public int? MaxLength { get; private init; }

    public Regex? Pattern { get; private init; }

    public decimal? Min { get; private init; }

    public decimal? Max { get; private init; }

    public IReadOnlyList<ChoiceOption> Options { get; private init; } = [];

    /// <summary>For a file: the largest it may be.</summary>
    public long? MaxBytes { get; private init; }

    /// <summary>For a file: the media types it may have (`image/*` takes any image); empty takes any.</summary>
    public IReadOnlyList<string> ContentTypes { get; private init; } = [];

    /// <summary>The spec as clients see it in `next_input_hint.input`.</summary>
    public JsonObject Json { get; }

    public static InputSpec Parse(JsonNode? node, string path, ProblemCollector problems)
    {
        if (node is null)
        {
            return new InputSpec(InputKind.Text, new JsonObject { ["kind"] = "text" });
        }

        if (node is not JsonObject obj)
        {
            problems.Error(path, "invalid_input", "\"input\" is an object with a \"kind\".");
            return new InputSpec(InputKind.Text, new JsonObject { ["kind"] = "text" });
        }

        var kindName = obj["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : "text";
        if (!Kinds.TryGetValue(kindName, out var kind))
        {
            problems.Error($"{path}.kind", "unknown_input_kind", $"\"kind\" is one of: {string.Join(", ", Kinds.Keys)}, not \"{ProblemText.Shorten(kindName)}\".");
            kind = InputKind.Text;
        }

        var json = (JsonObject)obj.DeepClone();
        json["kind"] = kind.ToString().ToLowerInvariant();
        return kind switch
        {
            InputKind.Text => new InputSpec(kind, json)
            {
                MinLength = ReadInt(obj, "min_length", path, problems),
                MaxLength = ReadInt(obj, "max_length", path, problems),
                Pattern = obj.ContainsKey("pattern") ? ConditionParser.CompilePattern(obj["pattern"], $"{path}.pattern", problems) : null,
            },
            InputKind.Number or InputKind.Integer => new InputSpec(kind, json)
            {
                Min = ReadNumber(obj, "min", path, problems),
                Max = ReadNumber(obj, "max", path, problems),
            },
            InputKind.Choice => new InputSpec(kind, json) { Options = ReadOptions(obj["options"], $"{path}.options", problems) },
            InputKind.File => new InputSpec(kind, json)
            {
                MaxBytes = ReadInt(obj, "max_bytes", path, problems) is { } most and > 0 ? most : null,
                ContentTypes = ReadContentTypes(obj["content_types"], $"{path}.content_types", problems),
            },
            _ => new InputSpec(kind, json),
        };
    }

    /// <summary>Checks a reply and returns it typed, or says in words what was expected.</summary>
    public ReplyCheck Check(string reply)
    {
        switch (Kind)
        {
            case InputKind.Text:
                if (MinLength is { } min && reply.Length < min)
                {
                    return ReplyCheck.Reject($"at least {min} characters");
                }

                if (MaxLength is { } max && reply.Length > max)
                {
                    return ReplyCheck.Reject($"at most {max} characters");
                }

                if (Pattern is not null && !MatchesWithinBudget(Pattern, reply))
                {
                    return ReplyCheck.Reject($"text matching {Pattern}");
                }

                return ReplyCheck.Accept(JsonValue.Create(reply));

            case InputKind.Number or InputKind.Integer:
                var isInteger = Kind == InputKind.Integer;
                if (!decimal.TryParse(reply.Trim(), isInteger ? NumberStyles.AllowLeadingSign : NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    return ReplyCheck.Reject(isInteger ? "a whole number" : "a number");
                }

                if ((Min is { } lo && number < lo) || (Max is { } hi && number > hi))
                {
                    return ReplyCheck.Reject($"a {(isInteger ? "whole " : string.Empty)}number{Range()}");
                }

                return ReplyCheck.Accept(isInteger && number is >= long.MinValue and <= long.MaxValue
                    ? JsonValue.Create((long)number)
                    : JsonValue.Create(number));

            case InputKind.File:
                return CheckFile(reply);

            case InputKind.Boolean:
                var word = reply.Trim();
                return Yes.Contains(word) ? ReplyCheck.Accept(JsonValue.Create(true))
                    : No.Contains(word) ? ReplyCheck.Accept(JsonValue.Create(false))
                    : ReplyCheck.Reject("yes or no (true/false/yes/no/y/n)");

            default:
                var answer = reply.Trim();
                var option = Options.FirstOrDefault(o => string.Equals(ValueText(o.Value), answer, StringComparison.OrdinalIgnoreCase))
                    ?? Options.FirstOrDefault(o => string.Equals(o.Label, answer, StringComparison.OrdinalIgnoreCase));
                return option is not null
                    ? ReplyCheck.Accept(option.Value.DeepClone())
                    : ReplyCheck.Reject($"one of: {string.Join(", ", Options.Select(o => ValueText(o.Value)))}");
        }
    }

    /// <summary>A file's reply is its descriptor, which the runtime writes from the stored file; text is no file.</summary>
    private ReplyCheck CheckFile(string reply)
    {
        var expected = "a file" + (MaxBytes is { } most ? $" of at most {most} bytes" : "") + (ContentTypes.Count > 0 ? $" of type {string.Join(", ", ContentTypes)}" : "");
        JsonNode? json = null;
        try
        {
            json = reply.StartsWith('{') ? JsonNode.Parse(reply) : null;
        }
        catch (JsonException)
        {
        }

        if (StoredFile.FromJson(json) is not { } file)
        {
            return ReplyCheck.Reject($"{expected}, sent as a multipart file part");
        }

        var typeAccepted = ContentTypes.Count == 0 || ContentTypes.Any(type => type.EndsWith("/*", StringComparison.Ordinal)
            ? file.ContentType.StartsWith(type[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(type, file.ContentType, StringComparison.OrdinalIgnoreCase));
        return (MaxBytes is null || file.Size <= MaxBytes) && typeAccepted ? ReplyCheck.Accept(file.ToJson()) : ReplyCheck.Reject(expected);
    }

    private static List<string> ReadContentTypes(JsonNode? node, string path, ProblemCollector problems)
    {
        if (node is null)
        {
            return [];
        }

        if (node is JsonArray array && array.All(t => t is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Contains('/')))
        {
            return array.Select(t => t!.GetValue<string>()).ToList();
        }

        problems.Error(path, "invalid_value", "\"content_types\" is an array of media types such as \"application/pdf\" or \"image/*\".");
        return [];
    }

    /// <summary>A reply the pattern cannot judge within its time budget is refused rather than allowed to stall the turn.</summary>
    private static bool MatchesWithinBudget(Regex pattern, string reply)
    {
        try
        {
            return pattern.IsMatch(reply);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private string Range() => (Min, Max) switch
    {
        ({ } lo, { } hi) => $" from {lo} to {hi}",
        ({ } lo, null) => $" of at least {lo}",
        (null, { } hi) => $" of at most {hi}",
        _ => string.Empty,
    };

    private static string ValueText(JsonNode value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : Values.JsonText.Serialize(value);

    private static int? ReadInt(JsonObject obj, string name, string path, ProblemCollector problems)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue<int>(out var value) && value >= 0)
        {
            return value;
        }

        problems.Error($"{path}.{name}", "invalid_value", $"\"{name}\" is a whole number >= 0.");
        return null;
    }

    private static decimal? ReadNumber(JsonObject obj, string name, string path, ProblemCollector problems)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            return v.GetValue<decimal>();
        }

        problems.Error($"{path}.{name}", "invalid_value", $"\"{name}\" is a number.");
        return null;
    }

    private static List<ChoiceOption> ReadOptions(JsonNode? node, string path, ProblemCollector problems)
    {
        if (node is not JsonArray array || array.Count == 0)
        {
            problems.Error(path, "missing_field", "A choice lists its \"options\", each with a \"value\" and a \"label\".");
            return [];
        }

        var options = new List<ChoiceOption>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is JsonObject option && option["value"] is JsonValue value && value.GetValueKind() != JsonValueKind.Null)
            {
                var label = option["label"] is JsonValue l && l.GetValueKind() == JsonValueKind.String ? l.GetValue<string>() : ValueText(value);
                options.Add(new ChoiceOption(value.DeepClone(), label));
            }
            else
            {
                problems.Error($"{path}[{i}]", "invalid_option", "An option is { \"value\": string|number|boolean, \"label\": string }.");
            }
        }

        foreach (var duplicate in options.GroupBy(o => ValueText(o.Value), StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Error(path, "duplicate_option", $"The option value \"{duplicate.Key}\" appears more than once.");
        }

        return options;
    }
}

/// <summary>The verdict on one reply: its typed value, or what was expected instead.</summary>
public sealed record ReplyCheck(bool Accepted, JsonNode? Value, string? Expected)
{
    public static ReplyCheck Accept(JsonNode? value) => new(true, value, null);

    public static ReplyCheck Reject(string expected) => new(false, null, expected);
}
