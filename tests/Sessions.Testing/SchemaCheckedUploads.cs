using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Sessions.Testing;

/// <summary>
/// Holds every definition a test uploads to the definition format's JSON Schema: an upload the server accepts (201)
/// without a warning of an ignored field, and the schema refuses, is answered 500 with the schema's reasons instead, so
/// the test that sent it fails. Registered by the in-memory test server for every API test.
/// </summary>
public sealed partial class SchemaCheckedUploads : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(CheckAsync);
        next(app);
    };

    private static async Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || !UploadPath().IsMatch(context.Request.Path.Value ?? ""))
        {
            await next(context);
            return;
        }

        context.Request.EnableBuffering();
        var sent = await new StreamReader(context.Request.Body, leaveOpen: true).ReadToEndAsync(context.RequestAborted);
        context.Request.Body.Position = 0;

        var answer = context.Response.Body;
        using var buffered = new MemoryStream();
        context.Response.Body = buffered;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = answer;
        }

        buffered.Position = 0;
        if (context.Response.StatusCode == StatusCodes.Status201Created && Disagreement(sent, buffered) is { } why)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = null;
            await context.Response.WriteAsync(why, context.RequestAborted);
            return;
        }

        await buffered.CopyToAsync(answer, context.RequestAborted);
    }

    private static string? Disagreement(string sent, MemoryStream answer)
    {
        var warnings = JsonNode.Parse(answer.ToArray())?["warnings"]?.AsArray().Select(w => w?["code"]?.GetValue<string>()) ?? [];
        answer.Position = 0;
        if (warnings.Contains("ignored_field"))
        {
            return null;
        }

        var definition = JsonNode.Parse(sent);
        var problems = WorkflowSchema.Problems(definition);
        return problems.Count == 0
            ? null
            : $"The server accepted a definition its JSON Schema (docs/schemas) refuses:\n{string.Join("\n", problems)}\n{sent}";
    }

    [GeneratedRegex("^/v1/workflows(/[^/]+/versions)?/?$")]
    private static partial Regex UploadPath();
}
