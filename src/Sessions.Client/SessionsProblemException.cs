using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Client;

/// <summary>
/// The server refused a request with an RFC 7807 problem: its status, its stable <see cref="Code"/> (one of
/// <see cref="ProblemCodes"/>), what it said, and the fields it named. A refused turn changed nothing: the run is as
/// it was.
/// </summary>
public sealed class SessionsProblemException(HttpStatusCode status, string? code, string? title, string? detail, JsonObject? problem)
    : Exception($"{(int)status} {code ?? "problem"}: {detail ?? title ?? status.ToString()}")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The problem's stable code (`invalid_reply`, `run_not_found`, ...), or null for an answer that was no problem document.</summary>
    public string? Code { get; } = code;

    public string? Title { get; } = title;

    public string? Detail { get; } = detail;

    /// <summary>
    /// Every wrong field the problem named (`errors`): its JSON path, what is wrong, and for a workflow definition the
    /// problem's own code (`dangling_next`, `unknown_node_type`, ...). Empty when it named none.
    /// </summary>
    public IReadOnlyList<ProblemError> Errors { get; } = ErrorsOf(problem);

    /// <summary>The whole problem document, for its other members (`expected_turn`, `path`, `retry_after_seconds`, ...).</summary>
    public JsonObject? Problem { get; } = problem;

    internal static async Task<SessionsProblemException> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        JsonObject? problem = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            problem = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
        }

        return new SessionsProblemException(
            response.StatusCode, Text(problem, "code"), Text(problem, "title") ?? response.ReasonPhrase, Text(problem, "detail"), problem);
    }

    private static string? Text(JsonObject? problem, string name) =>
        problem?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static List<ProblemError> ErrorsOf(JsonObject? problem) =>
        problem?["errors"] is JsonArray errors
            ? errors.OfType<JsonObject>().Select(e => new ProblemError(Text(e, "path") ?? string.Empty, Text(e, "message") ?? string.Empty, Text(e, "code"))).ToList()
            : [];
}

/// <summary>One wrong field of a refused request.</summary>
public sealed record ProblemError(string Path, string Message, string? Code);
