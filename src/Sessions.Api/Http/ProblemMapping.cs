using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Sessions.Runtime.Errors;

namespace Sessions.Api.Http;

/// <summary>
/// The one place where refusals become RFC 7807 problem details: every problem carries a stable `code`, and its `type`
/// is derived from it. Unexpected exceptions become a 500 problem without internals.
/// </summary>
public sealed class ProblemMapping(IProblemDetailsService problems, ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public static string TypeOf(string code) => $"urn:sessions:problem:{code}";

    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.BadRequest => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.Unprocessable => StatusCodes.Status422UnprocessableEntity,
        ErrorKind.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The problem a refused request answers, for streams that report it as an `error` event instead.</summary>
    public static ProblemDetails? ToProblem(Exception exception, HttpContext httpContext)
    {
        if (exception is not DomainException domain)
        {
            return null;
        }

        var problem = FromDomain(domain);
        problem.Instance = httpContext.Request.Path;
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
            BadHttpRequestException bad => Problem(bad.StatusCode, bad.StatusCode == 413 ? ProblemCodes.PayloadTooLarge : ProblemCodes.InvalidRequest, "Bad request", bad.Message),
            _ => null,
        };
        if (problem is null)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
            problem = Problem(500, "internal_error", "Internal error", "The server failed to answer; nothing was changed by this request.");
        }

        problem.Instance = httpContext.Request.Path;
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
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
            404 => ("route_not_found", "No such endpoint"),
            405 => ("method_not_allowed", "Method not allowed"),
            415 => ("unsupported_media_type", "Unsupported media type"),
            _ => ("http_error", "Request failed"),
        };
        var problem = Problem(status, code, title, $"{http.Request.Method} {http.Request.Path} answered {status}; see /openapi/v1.json for the endpoints.");
        problem.Instance = http.Request.Path;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
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

    private static ProblemDetails Problem(int status, string code, string title, string detail) => new()
    {
        Type = TypeOf(code),
        Title = title,
        Status = status,
        Detail = detail,
        Extensions = { ["code"] = code },
    };
}
