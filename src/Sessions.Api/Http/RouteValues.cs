using System.Globalization;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Http;

/// <summary>Parses ids and numbers from routes and queries into their stable 400s.</summary>
public static class RouteValues
{
    public static string ObjectIdOrThrow(string? value, string name) =>
        ObjectId.TryParse(value, out var id)
            ? id.ToString()
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedId, "Malformed id", $"'{name}' must be 24 lowercase hex characters (an ObjectId), not \"{ProblemText.Shorten(value ?? "")}\".")
                .With("parameter", name);

    public static int? VersionNumberOrThrow(string? value) =>
        value is null ? null
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
        : throw RunInputReader.InvalidVersionNumber(value);

    public static bool BooleanOrThrow(string? value, string name, bool fallback) =>
        value is null ? fallback
        : bool.TryParse(value, out var flag) ? flag
        : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", $"'{name}' is true or false.")
            .With("parameter", name);

    /// <summary>Statuses by their wire names, comma-separated and/or repeated: `status=paused,failed&amp;status=completed`.</summary>
    public static IReadOnlyList<RunStatus> StatusesOrThrow(string?[]? values)
    {
        var statuses = new List<RunStatus>();
        foreach (var name in (values ?? []).SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!RunStatusNames.All.Contains(name))
            {
                throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", $"'{ProblemText.Shorten(name)}' is not a run status; use one of: {string.Join(", ", RunStatusNames.All)}.")
                    .With("parameter", "status");
            }

            statuses.Add(RunStatusNames.FromWire(name));
        }

        return statuses.Distinct().ToList();
    }

    public static DateTimeOffset? TimestampOrThrow(string? value, string name) =>
        value is null ? null
        : DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at
        : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", $"'{name}' is an ISO 8601 date-time, such as 2026-11-22T09:00:00Z.")
            .With("parameter", name);

    /// <summary>A text filter as given, unless it holds a NUL character, which no store keeps or compares as text.</summary>
    public static string? TextOrThrow(string? value, string name) =>
        value is null || !value.Contains('\0')
            ? value
            : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", $"'{name}' contains a NUL character (%00); leave it out.");

    public static long AfterSeqOrThrow(string? value) =>
        value is null ? 0
        : long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq
        : throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid query parameter", "'after_seq' is a whole number >= 0.")
            .With("parameter", "after_seq");

    /// <summary>Paging as every list endpoint takes it: page from 1, limit from 1 to 100 (default 10).</summary>
    public static (int Page, int Limit) PagingOrThrow(string? page, string? limit, int maxLimit = 100)
    {
        var p = page is null ? 1 : int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedPage) && parsedPage >= 1 ? parsedPage : 0;
        var l = limit is null ? 10 : int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedLimit) && parsedLimit >= 1 && parsedLimit <= maxLimit ? parsedLimit : 0;
        if (p == 0 || l == 0)
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidPaging, "Invalid paging", $"'page' is a whole number >= 1 and 'limit' one from 1 to {maxLimit}.");
        }

        return (p, l);
    }
}
