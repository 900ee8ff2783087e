using System.Globalization;
using System.Text.RegularExpressions;
using HandlebarsDotNet;

namespace Sessions.Runtime.Templates;

/// <summary>
/// Compiles `{{ }}` texts with Handlebars.Net, without HTML escaping (these are chat messages, not pages),
/// and with the helpers a workflow author needs: arithmetic, defaults, and a few string helpers.
/// </summary>
public sealed partial class TemplateEngine
{
    private readonly IHandlebars handlebars;

    public TemplateEngine()
    {
        handlebars = Handlebars.Create(new HandlebarsConfiguration
        {
            NoEscape = true,
            FormatProvider = CultureInfo.InvariantCulture,
        });
        TemplateHelpers.Register(handlebars);
    }

    /// <summary>Names of the helpers, so that validation can tell a helper call from a variable.</summary>
    public static IReadOnlyCollection<string> HelperNames => TemplateHelpers.Names;

    /// <summary>Compiles <paramref name="source"/>, or returns null and the parser's message.</summary>
    public Template? TryCompile(string source, out string? error)
    {
        error = null;
        if (!source.Contains("{{", StringComparison.Ordinal))
        {
            return new Template(source, null, null, false);
        }

        try
        {
            var compiled = handlebars.Compile(source);
            var sole = SoleExpression().Match(source);
            string? soleVariable = sole.Success && PlainPath().IsMatch(sole.Groups[1].Value) && !TemplateHelpers.Names.Contains(sole.Groups[1].Value)
                ? sole.Groups[1].Value
                : null;
            return new Template(source, compiled, soleVariable, sole.Success);
        }
        catch (HandlebarsException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    [GeneratedRegex(@"^\{\{\s*([^{}]+?)\s*\}\}$")]
    private static partial Regex SoleExpression();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")]
    private static partial Regex PlainPath();
}
