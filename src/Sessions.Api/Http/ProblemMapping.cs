using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Sessions.Runtime.Errors;

namespace Sessions.Api.Http;

/// <summary>
/// The one place where refusals become RFC 7807 problem details: every problem carries a stable `code`, and its `type`
/// is derived from it. Unexpected exceptions become a 500 problem without internals.
/// </summary>
public sealed class ProblemMapping(ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public static string TypeOf(string code) => $"urn:sessions:problem:{code}";

    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.BadRequest => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.Unprocessable => StatusCodes.Status422UnprocessableEntity,
        ErrorKind.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorKind.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorKind.Forbidden => StatusCodes.Status403Forbidden,
        ErrorKind.TooManyRequests => StatusCodes.Status429TooManyRequests,
        ErrorKind.Unauthorized => StatusCodes.Status401Unauthorized,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The problem a refused request answers, for streams that report it as an `error` event instead.</summary>
    public static ProblemDetails? ToProblem(Exception exception, HttpContext httpContext)
    {
        var problem = exception switch
        {
            DomainException domain => FromDomain(domain),
            CommitOutcomeUnknownException unknown => OutcomeUnknown(unknown),
            _ => null,
        };
        if (problem is not null)
        {
            problem.Instance = httpContext.Request.Path;
        }

        return problem;
    }

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client hung up; the turn was not committed and nobody is left to answer.
            logger.LogDebug("Request {Method} {Path} was aborted by the client", httpContext.Request.Method, httpContext.Request.Path);
            return true;
        }

        var problem = exception switch
        {
            DomainException domain => FromDomain(domain),
            CommitOutcomeUnknownException unknown => OutcomeUnknown(unknown),
            BadHttpRequestException bad => Problem(bad.StatusCode, bad.StatusCode == 413 ? ProblemCodes.PayloadTooLarge : ProblemCodes.InvalidRequest, "Bad request", bad.Message),
            _ => null,
        };
        if (exception is CommitOutcomeUnknownException)
        {
            logger.LogError(exception, "Commit outcome unknown on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        }

        if (problem is null)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
            problem = Problem(500, ProblemCodes.InternalError, "Internal error", "The server failed to answer; nothing was changed by this request.");
        }

        problem.Instance = httpContext.Request.Path;
        httpContext.Response.StatusCode = problem.Status!.Value;
        SetRetryAfter(httpContext, problem);
        await WriteProblemAsync(httpContext, problem, exception);
        return true;
    }

    /// <summary>Writes a refusal made outside an endpoint (the rate limiter's) exactly as the exception handler would.</summary>
    public static async Task WriteAsync(HttpContext httpContext, DomainException refusal)
    {
        var problem = FromDomain(refusal);
        problem.Instance = httpContext.Request.Path;
        httpContext.Response.StatusCode = problem.Status!.Value;
        SetRetryAfter(httpContext, problem);
        await WriteProblemAsync(httpContext, problem, null);
    }

    /// <summary>A refusal that says when to come back (rate limit, a request still in flight) says it in Retry-After too.</summary>
    private static void SetRetryAfter(HttpContext httpContext, ProblemDetails problem)
    {
        if (problem.Extensions.TryGetValue("retry_after_seconds", out var seconds) && seconds is int wait)
        {
            httpContext.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Answers that no endpoint wrote a body for (an unknown route, a wrong method) get a problem with a code too.
    /// </summary>
    public static async Task WriteStatusCodeProblem(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var (code, title) = status switch
        {
            401 => (ProblemCodes.Unauthorized, "API key or token required"),
            403 => (ProblemCodes.Forbidden, "Not permitted"),
            404 => (ProblemCodes.RouteNotFound, "No such endpoint"),
            405 => (ProblemCodes.MethodNotAllowed, "Method not allowed"),
            415 => (ProblemCodes.UnsupportedMediaType, "Unsupported media type"),
            _ => (ProblemCodes.HttpError, "Request failed"),
        };
        var detail = status switch
        {
            401 => "Send a valid API key, or a token of the configured issuer, as 'Authorization: Bearer <key or token>'.",
            403 => http.User.FindFirst(Security.JwtAuthentication.RefusalClaim)?.Value ?? "This API key's role does not permit this request.",
            415 when AcceptedMediaTypes(http) is { Count: > 0 } accepted =>
                $"{http.Request.Method} {http.Request.Path} takes a body sent as {string.Join(" or ", accepted)}; this one was sent as {(string.IsNullOrEmpty(http.Request.ContentType) ? "nothing (no Content-Type)" : $"'{http.Request.ContentType}'")}.",
            _ => $"{http.Request.Method} {http.Request.Path} answered {status}; see /openapi/v1.json for the endpoints.",
        };
        var problem = Problem(status, code, title, detail);
        if (status == 415 && AcceptedMediaTypes(http) is { Count: > 0 } mediaTypes)
        {
            problem.Extensions["accepted_media_types"] = mediaTypes;
        }

        problem.Instance = http.Request.Path;
        await WriteProblemAsync(http, problem, null);
    }

    /// <summary>
    /// The media types the endpoint a request was routed toward takes (its <c>Accepts</c>): routing answered 415 without
    /// choosing an endpoint, so they are looked up by route and method among all of them.
    /// </summary>
    private static IReadOnlyList<string> AcceptedMediaTypes(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        return http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(http.Request.Method, StringComparer.OrdinalIgnoreCase) == true)
            .Where(e => new Microsoft.AspNetCore.Routing.Template.TemplateMatcher(
                Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(e.RoutePattern.RawText ?? string.Empty), new RouteValueDictionary()).TryMatch(path, new RouteValueDictionary()))
            .SelectMany(e => e.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes ?? [])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>
    /// The problem service declines when the client accepts no JSON (say `Accept: text/event-stream`); a refusal is
    /// still a problem document then, written directly.
    /// </summary>
    private static async Task WriteProblemAsync(HttpContext http, ProblemDetails problem, Exception? exception)
    {
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception }))
        {
            await http.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
        }
    }

    private static ProblemDetails FromDomain(DomainException domain)
    {
        var problem = Problem(StatusOf(domain.Kind), domain.Code, domain.Title, domain.Message);
        foreach (var (key, value) in domain.Extensions)
        {
            problem.Extensions[key] = value;
        }

        return problem;
    }

    /// <summary>The one 5xx that may follow a commit: it says so, and how to find out without applying the turn twice.</summary>
    private static ProblemDetails OutcomeUnknown(CommitOutcomeUnknownException unknown)
    {
        var problem = Problem(
            StatusCodes.Status503ServiceUnavailable,
            ProblemCodes.CommitOutcomeUnknown,
            "Turn may have been applied",
            $"The store failed while this turn was being committed and could not be asked whether it was applied. Read the run: at turn {unknown.TurnNumber} it was. "
            + "Or send the request again with the same Idempotency-Key, or with expected_turn, so that it cannot be applied twice.");
        problem.Extensions["run_id"] = unknown.RunId;
        problem.Extensions["turn_number"] = unknown.TurnNumber;
        return problem;
    }

    private static ProblemDetails Problem(int status, string code, string title, string detail) => new()
    {
        Type = TypeOf(code),
        Title = title,
        Status = status,
        Detail = detail,
        Extensions = { ["code"] = code },
    };
}
