using System.Text.Json.Serialization;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Validation;

/// <summary>A field of a request that is wrong (of the wrong JSON type, out of range, missing), named by its JSON path.</summary>
/// <param name="MalformedId">The field is a string but not an ObjectId; the answer's code then says so.</param>
public sealed record FieldError(string Path, string Message, [property: JsonIgnore] string? MalformedId = null)
{
    public static FieldError NotAnObjectId(string path, string field) =>
        new(path, $"{field} is 24 lowercase hex characters (an ObjectId).", field);
}

/// <summary>The one answer to a request with wrong fields: every one of them named at once, under one stable code.</summary>
public static class FieldErrors
{
    /// <summary>Names <paramref name="path"/> when it holds a number below 0 (turn numbers, versions).</summary>
    public static void NotNegative(int? value, string path, List<FieldError> errors)
    {
        if (value < 0)
        {
            errors.Add(new(path, $"{path[(path.LastIndexOf('.') + 1)..]} is a whole number >= 0."));
        }
    }

    /// <summary>
    /// A 400 naming every error. Its code is `invalid_request`, except that a malformed id or version keeps the code it
    /// has everywhere else (`malformed_id`, `invalid_version_number`), so clients branch on one code per mistake.
    /// </summary>
    public static DomainException Refusal(IReadOnlyList<FieldError> errors)
    {
        if (errors.FirstOrDefault(e => e.MalformedId is not null)?.MalformedId is { } malformedIdField)
        {
            return new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedId, "Malformed id", $"'{malformedIdField}' must be 24 lowercase hex characters (an ObjectId); see errors for every wrong field.")
                .With("parameter", malformedIdField)
                .With("errors", errors);
        }

        if (errors.Any(e => e.Path.EndsWith(".version_number", StringComparison.Ordinal)))
        {
            return new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidVersionNumber, "Invalid version_number", "'version_number' is a whole number >= 0; see errors for every wrong field.")
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
