using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Values;

namespace Sessions.Api.Http;

/// <summary>
/// Reads a JSON body under the configured size limit. Reading it here (instead of model binding) is what lets every
/// malformed or oversized body get its own stable problem code, on Kestrel and in the test server alike.
/// </summary>
public sealed class RequestBody(IOptions<SessionsOptions> options, IOptions<TurnOptions> turns)
{
    // Duplicate keys are refused here, as malformed JSON: a JsonObject would otherwise fail on them later, past the edge.
    private readonly JsonDocumentOptions documentOptions = new() { MaxDepth = turns.Value.MaxJsonDepth, AllowDuplicateProperties = false };

    /// <summary>
    /// The body bound to its contract record (an empty body binds as `{}`): a body with wrong fields is refused with
    /// every one of them named, those of its types first, then those its own <see cref="ICheckedBody.Check"/> finds.
    /// </summary>
    public async Task<T> ReadAsAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class, ICheckedBody
    {
        var json = await ReadJsonAsync(request, cancellationToken) ?? new JsonObject();
        var errors = new List<FieldError>();
        var bound = JsonBinder.Bind<T>(json, "$", errors);

        // Checks of meaning run on a whole record only: on one missing its wrong fields they would name false problems.
        if (bound is not null && errors.Count == 0)
        {
            bound.Check(errors);
        }

        return errors.Count == 0 && bound is not null ? bound : throw FieldErrors.Refusal(errors);
    }

    /// <summary>The parsed body, or null when it is empty.</summary>
    public async Task<JsonNode?> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken) =>
        (await ReadAsync(request, cancellationToken)).Json;

    /// <summary>The body's bytes as received, and parsed.</summary>
    public async Task<JsonBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        var bytes = await ReadBoundedAsync(request.Body, cancellationToken, request.ContentLength);
        if (bytes.Length == 0)
        {
            return new JsonBody(ReadOnlyMemory<byte>.Empty, null);
        }

        // Routing refuses a body sent as another media type; one sent with no Content-Type at all reaches here.
        if (string.IsNullOrEmpty(request.ContentType))
        {
            throw new DomainException(
                ErrorKind.UnsupportedMediaType,
                ProblemCodes.UnsupportedMediaType,
                "Content-Type required",
                "The body was sent without a Content-Type; send it as JSON with the header 'Content-Type: application/json'.");
        }

        return new JsonBody(bytes, Parse(bytes, "The body"));
    }

    /// <summary>A JSON part of a multipart body, held to the same limits and checks as a JSON body.</summary>
    public async Task<JsonBody> ReadPartAsync(Stream part, string name, CancellationToken cancellationToken)
    {
        var bytes = await ReadBoundedAsync(part, cancellationToken);
        return new JsonBody(bytes, bytes.Length == 0 ? null : Parse(bytes, $"The part '{name}'"));
    }

    /// <summary>All of <paramref name="body"/>, refused as soon as it passes the limit.</summary>
    /// <param name="declaredLength">The length the request declared, if any: read into a buffer of exactly that size.</param>
    private async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(Stream body, CancellationToken cancellationToken, long? declaredLength = null)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        if (declaredLength is { } length and <= int.MaxValue)
        {
            // The usual case, a small JSON body: one exact allocation. The server holds the body to its declared length.
            var exact = new byte[length];
            var filled = 0;
            int read;
            while (filled < exact.Length && (read = await body.ReadAsync(exact.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
            }

            return exact.AsMemory(0, filled);
        }

        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw TooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private JsonNode? Parse(ReadOnlyMemory<byte> bytes, string what)
    {
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(bytes.Span, documentOptions: documentOptions);
        }
        catch (JsonException ex)
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedJson, "Malformed JSON", $"{what} is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            // The duplicate-key check decodes every property name while parsing; a name that is not valid Unicode fails there.
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedJson, "Malformed JSON", $"A property name is not valid Unicode: {ex.Message}");
        }

        // Every text is read here, once: one that is not valid Unicode or holds a NUL would otherwise fail a turn or a
        // read later, past the point of refusing it (PostgreSQL cannot keep a NUL in text at all).
        if (JsonText.FindUnkeepable(json) is { } unkeepable)
        {
            throw new DomainException(
                    ErrorKind.BadRequest,
                    ProblemCodes.MalformedJson,
                    "Text that cannot be kept",
                    $"At {unkeepable.Path} {unkeepable.Reason}; send valid UTF-8 without NUL characters.")
                .With("path", unkeepable.Path);
        }

        return json;
    }

    private static DomainException TooLarge(int limit) =>
        new DomainException(ErrorKind.PayloadTooLarge, ProblemCodes.PayloadTooLarge, "Body too large", $"The body is larger than the limit of {limit} bytes.")
            .With("limit_bytes", limit);
}

public sealed record JsonBody(ReadOnlyMemory<byte> Bytes, JsonNode? Json);

/// <summary>A request body record that checks what its types cannot say: ranges, id formats, fields that go together.</summary>
public interface ICheckedBody
{
    void Check(List<FieldError> errors);
}
