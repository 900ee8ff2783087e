namespace Sessions.Runtime.Validation;

/// <summary>One thing wrong (or, as a warning, suspicious) in an uploaded definition, at a JSON path such as $.nodes[2].next.</summary>
public sealed record DefinitionProblem(string Path, string Code, string Message);

/// <summary>Collects the problems of one definition so that an upload reports all of them at once, not the first.</summary>
/// <param name="shownPath">Turns a path in the definition as compiled into one in the definition as uploaded.</param>
public sealed class ProblemCollector(Func<string, string>? shownPath = null)
{
    private readonly List<DefinitionProblem> errors = [];
    private readonly List<DefinitionProblem> warnings = [];

    public IReadOnlyList<DefinitionProblem> Errors => errors;

    public IReadOnlyList<DefinitionProblem> Warnings => warnings;

    public bool HasErrors => errors.Count > 0;

    public void Error(string path, string code, string message) => errors.Add(new(Shown(path), code, message));

    public void Warn(string path, string code, string message) => warnings.Add(new(Shown(path), code, message));

    private string Shown(string path) => shownPath?.Invoke(path) ?? path;
}
