using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;
using Sessions.Runtime.Errors;

namespace Sessions.Api.Http;

/// <summary>
/// Reads a JSON body under the configured size limit. Reading it here (instead of model binding) is what lets every
/// malformed or oversized body get its own stable problem code, on Kestrel and in the test server alike.
/// </summary>
public sealed class RequestBody(IOptions<SessionsOptions> options)
{
    // Duplicate keys are refused here, as malformed JSON: a JsonObject would otherwise fail on them later, past the edge.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

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

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
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

        JsonNode? json;
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        try
        {
            json = JsonNode.Parse(bytes.Span, documentOptions: DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedJson, "Malformed JSON", $"The body is not valid JSON: {ex.Message}");
        }

        if (NulAt(json, "$") is { } path)
        {
            throw new DomainException(
                    ErrorKind.BadRequest,
                    ProblemCodes.MalformedJson,
                    "NUL character in the body",
                    $"The text at {path} contains a NUL character (\\u0000), which no store keeps as text; leave it out.")
                .With("path", path);
        }

        return new JsonBody(bytes, json);
    }

    /// <summary>
    /// The JSON path of the first name or string holding a NUL character, if any. Refused at the edge, for every store
    /// alike: PostgreSQL cannot keep one in text at all, so it would fail a request later, past the point of refusing it.
    /// </summary>
    private static string? NulAt(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    var inner = $"{path}.{name}";
                    if (name.Contains('\0'))
                    {
                        return inner;
                    }

                    if (NulAt(value, inner) is { } found)
                    {
                        return found;
                    }
                }

                return null;

            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (NulAt(array[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;

            case JsonValue value when value.TryGetValue<string>(out var text) && text.Contains('\0'):
                return path;

            default:
                return null;
        }
    }

    private static DomainException TooLarge(int limit) =>
        new DomainException(ErrorKind.PayloadTooLarge, ProblemCodes.PayloadTooLarge, "Body too large", $"The body is larger than the limit of {limit} bytes.")
            .With("limit_bytes", limit);
}

public sealed record JsonBody(ReadOnlyMemory<byte> Bytes, JsonNode? Json);
