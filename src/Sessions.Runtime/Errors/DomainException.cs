namespace Sessions.Runtime.Errors;

/// <summary>What kind of refusal a domain error is; the API maps each kind to exactly one HTTP status.</summary>
public enum ErrorKind
{
    BadRequest,
    NotFound,
    Conflict,
    Unprocessable,
    PayloadTooLarge,
    UnsupportedMediaType,
    Forbidden,
    TooManyRequests,
    Unauthorized,
}

/// <summary>
/// A request the domain refuses. Thrown before anything is written, so a refused request never changes a run.
/// </summary>
public sealed class DomainException(ErrorKind kind, string code, string title, string detail) : Exception(detail)
{
    public ErrorKind Kind { get; } = kind;

    /// <summary>The stable, documented problem code (snake_case) that clients branch on.</summary>
    public string Code { get; } = code;

    public string Title { get; } = title;

    /// <summary>Extra members of the problem document, such as the validation errors or the expected input.</summary>
    public Dictionary<string, object?> Extensions { get; } = new();

    public DomainException With(string key, object? value)
    {
        Extensions[key] = value;
        return this;
    }
}
