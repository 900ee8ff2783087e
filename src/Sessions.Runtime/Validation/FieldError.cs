using System.Text.Json.Serialization;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Validation;

/// <summary>A field of a request that is wrong (of the wrong JSON type, out of range, missing), named by its JSON path.</summary>
/// <param name="MalformedId">The field is a string but not an ObjectId; the answer's code then says so.</param>
public sealed record FieldError(string Path, string Message, [property: JsonIgnore] string? MalformedId = null)
{
    public static FieldError NotAnObjectId(string path, string field, string sent) =>
        new(path, $"{field} is 24 lowercase hex characters (an ObjectId), not \"{ProblemText.Shorten(sent)}\".", field);
}

/// <summary>The one answer to a request with wrong fields: every one of them named at once, under one stable code.</summary>
public static class FieldErrors
{
    /// <summary>Names <paramref name="path"/> when it holds a number below 0 (turn numbers, versions).</summary>
    public static void NotNegative(int? value, string path, List<FieldError> errors)
    {
        if (value < 0)
        {
            errors.Add(new(path, $"{path[(path.LastIndexOf('.') + 1)..]} is a whole number >= 0, not {value}."));
        }
    }

    /// <summary>
    /// A 400 naming every error. Its code is `invalid_request`, except that a malformed id or version keeps the code it
    /// has everywhere else (`malformed_id`, `invalid_version_number`), so clients branch on one code per mistake.
    /// </summary>
    public static DomainException Refusal(IReadOnlyList<FieldError> errors)
    {
        if (errors.FirstOrDefault(e => e.MalformedId is not null) is { MalformedId: { } malformedIdField } malformed)
        {
            return new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedId, "Malformed id", $"{malformed.Message} See errors for every wrong field.")
                .With("parameter", malformedIdField)
                .With("errors", errors);
        }

        if (errors.FirstOrDefault(e => e.Path.EndsWith(".version_number", StringComparison.Ordinal)) is { } version)
        {
            return new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidVersionNumber, "Invalid version_number", $"{version.Message} See errors for every wrong field.")
                .With("errors", errors);
        }

        return new DomainException(
                ErrorKind.BadRequest,
                ProblemCodes.InvalidRequest,
                "Invalid request",
                errors.Count == 1 ? errors[0].Message : "Some fields are wrong; see errors.")
            .With("errors", errors);
    }
}
