using System.Text.Json.Nodes;
using HandlebarsDotNet;

namespace Sessions.Runtime.Templates;

/// <summary>
/// A `{{ }}` text compiled once when its definition is loaded; turns only render it.
/// </summary>
public sealed class Template
{
    private readonly HandlebarsTemplate<object, object>? compiled;

    internal Template(string source, HandlebarsTemplate<object, object>? compiled, string? soleVariable, bool isSoleExpression)
    {
        Source = source;
        this.compiled = compiled;
        SoleVariable = soleVariable;
        IsSoleExpression = isSoleExpression;
    }

    public string Source { get; }

    /// <summary>Set when the whole text is one `{{path}}`: its value can be copied with its JSON type.</summary>
    internal string? SoleVariable { get; }

    /// <summary>True when the whole text is one `{{ }}` expression, so its result may keep a number or boolean type.</summary>
    internal bool IsSoleExpression { get; }

    public string Render(JsonObject variables) =>
        compiled is null ? Source : compiled(TemplateModel.From(variables));

    /// <summary>Renders with extra top-level names beside the variables (such as `secrets`), which win over variables.</summary>
    public string Render(JsonObject variables, IReadOnlyDictionary<string, object?> extra)
    {
        if (compiled is null)
        {
            return Source;
        }

        var model = TemplateModel.From(variables);
        foreach (var (name, value) in extra)
        {
            model[name] = value;
        }

        return compiled(model);
    }

    /// <summary>
    /// A typed value for assignments: `{{attempts}}` copies the variable as it is, `{{add attempts 1}}` yields a number,
    /// and any other text yields a string.
    /// </summary>
    public JsonNode? Evaluate(JsonObject variables)
    {
        if (SoleVariable is not null)
        {
            return VariablePath.Get(variables, SoleVariable)?.DeepClone();
        }

        var text = Render(variables);
        if (!IsSoleExpression)
        {
            return JsonValue.Create(text);
        }

        if (text is "true" or "false")
        {
            return JsonValue.Create(text == "true");
        }

        if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var whole))
        {
            return JsonValue.Create(whole);
        }

        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(text);
    }
}
