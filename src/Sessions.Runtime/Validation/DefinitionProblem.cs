namespace Sessions.Runtime.Validation;

/// <summary>One thing wrong (or, as a warning, suspicious) in an uploaded definition, at a JSON path such as $.nodes[2].next.</summary>
public sealed record DefinitionProblem(string Path, string Code, string Message);

/// <summary>Collects the problems of one definition so that an upload reports all of them at once, not the first.</summary>
/// <param name="shownPath">Turns a path in the definition as compiled into one in the definition as uploaded.</param>
/// <param name="stored">The definition is a version stored earlier, compiled again (after a restart), not an upload.</param>
public sealed class ProblemCollector(Func<string, string>? shownPath = null, bool stored = false)
{
    private readonly List<DefinitionProblem> errors = [];
    private readonly List<DefinitionProblem> warnings = [];

    public IReadOnlyList<DefinitionProblem> Errors => errors;

    public IReadOnlyList<DefinitionProblem> Warnings => warnings;

    public bool HasErrors => errors.Count > 0;

    public void Error(string path, string code, string message) => errors.Add(new(Shown(path), code, message));

    public void Warn(string path, string code, string message) => warnings.Add(new(Shown(path), code, message));

    /// <summary>
    /// A check added after versions may have been stored without it (a value of the wrong type that used to be
    /// ignored): an error for an upload, but a warning for a stored version compiled again, which then runs as it did
    /// when it was accepted. A stricter server never stops the runs of a version it once took.
    /// </summary>
    public void ErrorOnUpload(string path, string code, string message)
    {
        if (stored)
        {
            Warn(path, code, message);
        }
        else
        {
            Error(path, code, message);
        }
    }

    private string Shown(string path) => shownPath?.Invoke(path) ?? path;
}
