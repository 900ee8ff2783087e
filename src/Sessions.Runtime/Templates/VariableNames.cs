using System.Text.RegularExpressions;

namespace Sessions.Runtime.Templates;

/// <summary>What a name that templates can address looks like (`{{name}}`, `{{steps.fetch.status}}`): the one rule.</summary>
public static partial class VariableNames
{
    /// <summary>Letters, digits and '_', not starting with a digit.</summary>
    public static bool IsValid(string name) => Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Pattern();
}
