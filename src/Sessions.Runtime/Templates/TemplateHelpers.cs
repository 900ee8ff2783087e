using System.Globalization;
using HandlebarsDotNet;

namespace Sessions.Runtime.Templates;

/// <summary>The helpers available in every template. Arithmetic works on whatever numbers or numeric strings it is given.</summary>
internal static class TemplateHelpers
{
    public static readonly HashSet<string> Names =
        ["add", "subtract", "multiply", "divide", "modulo", "default", "upper", "lower", "trim", "length", "join", "eq"];

    public static void Register(IHandlebars handlebars)
    {
        handlebars.RegisterHelper("add", (in HelperOptions _, in Context _, in Arguments args) => Number(args.AsEnumerable().Sum(ToDecimal)));
        handlebars.RegisterHelper("subtract", (in HelperOptions _, in Context _, in Arguments args) => Fold(args, (a, b) => a - b));
        handlebars.RegisterHelper("multiply", (in HelperOptions _, in Context _, in Arguments args) => Fold(args, (a, b) => a * b));
        handlebars.RegisterHelper("divide", (in HelperOptions _, in Context _, in Arguments args) =>
            Fold(args, (a, b) => b == 0 ? throw new HandlebarsRuntimeException("divide by zero") : a / b));
        handlebars.RegisterHelper("modulo", (in HelperOptions _, in Context _, in Arguments args) =>
            Fold(args, (a, b) => b == 0 ? throw new HandlebarsRuntimeException("modulo by zero") : a % b));
        handlebars.RegisterHelper("default", (in HelperOptions _, in Context _, in Arguments args) =>
            args.AsEnumerable().FirstOrDefault(v => v is not null && v is not UndefinedBindingResult && !(v is string s && s.Length == 0)) ?? string.Empty);
        handlebars.RegisterHelper("upper", (in HelperOptions _, in Context _, in Arguments args) => Text(args).ToUpperInvariant());
        handlebars.RegisterHelper("lower", (in HelperOptions _, in Context _, in Arguments args) => Text(args).ToLowerInvariant());
        handlebars.RegisterHelper("trim", (in HelperOptions _, in Context _, in Arguments args) => Text(args).Trim());
        handlebars.RegisterHelper("length", (in HelperOptions _, in Context _, in Arguments args) => args.Length == 0 ? 0 : args[0] switch
        {
            string s => s.Length,
            System.Collections.ICollection c => c.Count,
            _ => 0,
        });
        handlebars.RegisterHelper("join", (in HelperOptions _, in Context _, in Arguments args) =>
            args.Length > 0 && args[0] is System.Collections.IEnumerable items and not string
                ? string.Join(args.Length > 1 ? Convert.ToString(args[1], CultureInfo.InvariantCulture) : ", ", items.Cast<object?>().Select(i => Convert.ToString(i, CultureInfo.InvariantCulture)))
                : Text(args));
        handlebars.RegisterHelper("eq", (in HelperOptions _, in Context _, in Arguments args) =>
            args.Length == 2 && string.Equals(Convert.ToString(args[0], CultureInfo.InvariantCulture), Convert.ToString(args[1], CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }

    private static string Text(Arguments args) =>
        args.Length == 0 || args[0] is null or UndefinedBindingResult ? string.Empty : Convert.ToString(args[0], CultureInfo.InvariantCulture) ?? string.Empty;

    private static object Fold(Arguments args, Func<decimal, decimal, decimal> op)
    {
        var values = args.AsEnumerable().Select(ToDecimal).ToList();
        return values.Count == 0 ? 0 : Number(values.Skip(1).Aggregate(values[0], op));
    }

    private static decimal ToDecimal(object? value) => value switch
    {
        null or UndefinedBindingResult => 0m,
        long l => l,
        int i => i,
        double d => (decimal)d,
        decimal m => m,
        bool b => b ? 1 : 0,
        string s when decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new HandlebarsRuntimeException($"'{value}' is not a number"),
    };

    /// <summary>Whole results print without a decimal point, so `{{add attempts 1}}` renders `2`, not `2.0`.</summary>
    private static object Number(decimal value) =>
        value == decimal.Truncate(value) && value is >= long.MinValue and <= long.MaxValue ? (long)value : value.Normalize();

    private static decimal Normalize(this decimal value) => value / 1.000000000000000000000000000000000m;
}
