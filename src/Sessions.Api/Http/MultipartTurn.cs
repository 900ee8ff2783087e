using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Files;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Http;

/// <summary>An execute request sent as `multipart/form-data`: the body it stands for, what identifies it, and its files.</summary>
/// <param name="Body">The JSON body the parts stand for: `{ run_id, version_number, expected_turn, run_input }`.</param>
/// <param name="Fingerprint">What makes two such requests the same one, for idempotency keys: the parts' text and each file's hash.</param>
public sealed record MultipartTurn(JsonObject Body, byte[] Fingerprint, IReadOnlyList<UploadedFile> Files)
{
    public const string MediaType = "multipart/form-data";

    /// <summary>The text parts that stand for the JSON body's own fields.</summary>
    private static readonly HashSet<string> TextParts = ["run_id", "version_number", "expected_turn"];

    private const int MaxTextPartBytes = 64;

    /// <summary>RFC 2046 §5.1.1: a boundary is 1 to 70 characters. A longer one is refused before any reader is built.</summary>
    public const int MaxBoundaryLength = 70;

    public static bool Is(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith(MediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the parts in order, storing each file as it streams in (never whole in memory). A part named `run_input`
    /// holds the usual run_input JSON; `run_id`, `version_number` and `expected_turn` are text parts; every part with a
    /// file name is a file, and its part name the variable it fills. Anything else is a 400. If the request is refused
    /// while being read, the files it stored are erased.
    /// </summary>
    public static async Task<MultipartTurn> ReadAsync(HttpRequest request, RequestBody json, RunFiles files, string tenantId, CancellationToken cancellationToken)
    {
        // The body may be as large as its files may be; each part is bounded as it is read.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = (files.MaxBytes + 1024 * 1024) * files.MaxFilesPerTurn;
        }

        var reader = OpenReader(request);
        var body = new JsonObject();
        var fingerprint = new StringBuilder();
        var uploaded = new List<UploadedFile>();
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                var disposition = section.GetContentDispositionHeader() ?? throw Invalid("Each part has a Content-Disposition with its name.");
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (IsFilePart(disposition))
                {
                    uploaded.Add(await ReadFileAsync(section, disposition, name, uploaded, files, tenantId, cancellationToken));
                    var file = uploaded[^1];
                    fingerprint.Append(CultureInfo.InvariantCulture, $"\nfile:{name}:{file.File.Name}:{file.File.ContentType}:{file.File.Sha256}");
                }
                else if (name == "run_input")
                {
                    var part = await json.ReadPartAsync(section.Body, name, cancellationToken);
                    body["run_input"] = part.Json;
                    fingerprint.Append("\nrun_input:").Append(Convert.ToHexStringLower(SHA256.HashData(part.Bytes.Span)));
                }
                else if (TextParts.Contains(name) && !body.ContainsKey(name))
                {
                    var text = await ReadTextAsync(section.Body, name, cancellationToken);
                    body[name] = name == "run_id" ? text
                        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
                        : throw Invalid($"The part '{name}' is a whole number >= 0.");
                    fingerprint.Append(CultureInfo.InvariantCulture, $"\n{name}:{text}");
                }
                else
                {
                    throw Invalid($"The part '{name}' is not one of run_input, run_id, version_number, expected_turn, or a file (a part with a filename), or it came twice.");
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await files.DiscardAsync(tenantId, uploaded.Select(u => u.File));
            throw ex is IOException or InvalidDataException ? Invalid($"The multipart body could not be read: {ex.Message}") : ex;
        }

        return new MultipartTurn(body, Encoding.UTF8.GetBytes(fingerprint.ToString()), uploaded);
    }

    private static async Task<UploadedFile> ReadFileAsync(
        MultipartSection section, ContentDispositionHeaderValue disposition, string name, List<UploadedFile> uploaded, RunFiles files, string tenantId, CancellationToken cancellationToken)
    {
        if (name.Length > 100 || !VariableNames.IsValid(name) || uploaded.Any(u => u.PartName == name))
        {
            throw Invalid(ProblemCodes.InvalidFile, $"A file part's name is the variable it fills: letters, digits and '_', not starting with a digit, once per request; '{name}' is not.");
        }

        if (uploaded.Count >= files.MaxFilesPerTurn)
        {
            throw Invalid(ProblemCodes.InvalidFile, $"A turn sends at most {files.MaxFilesPerTurn} files.");
        }

        var fileName = FileName(disposition).Trim();
        if (fileName.Length is 0 or > 255 || fileName.Any(char.IsControl))
        {
            throw Invalid(ProblemCodes.InvalidFile, $"The file of part '{name}' needs a file name of 1 to 255 characters without control characters.");
        }

        // What the file says it is, if that is a media type at all; else plain bytes.
        var contentType = MediaTypeHeaderValue.TryParse(section.ContentType, out var type) && type.MediaType.HasValue && type.MediaType.Value!.Contains('/')
            ? type.MediaType.Value.ToLowerInvariant()
            : "application/octet-stream";
        return new UploadedFile(name, await files.SaveAsync(tenantId, fileName, contentType, section.Body, cancellationToken));
    }

    /// <summary>
    /// A reader of the request's parts, with small bounds on their headers. A body without a boundary, or with one
    /// longer than RFC 2046 allows, is a 400: no header value reaches the reader unchecked.
    /// </summary>
    public static MultipartReader OpenReader(HttpRequest request)
    {
        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var media) ? HeaderUtilities.RemoveQuotes(media.Boundary).Value : null;
        if (string.IsNullOrEmpty(boundary))
        {
            throw Invalid("A multipart/form-data body needs a boundary in its Content-Type.").With("parameter", "boundary");
        }

        return boundary.Length > MaxBoundaryLength
            ? throw Invalid($"The multipart boundary is {boundary.Length} characters long; RFC 2046 allows 1 to {MaxBoundaryLength}.")
                .With("parameter", "boundary").With("length", boundary.Length)
            : new MultipartReader(boundary, request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
    }

    /// <summary>
    /// A part is a file when its Content-Disposition names a file at all, even with an empty name (what a browser sends
    /// for a file input left empty): that is a file without a name, not a text part.
    /// </summary>
    public static bool IsFilePart(ContentDispositionHeaderValue disposition) =>
        disposition.Parameters.Any(p => p.Name.Equals("filename", StringComparison.OrdinalIgnoreCase) || p.Name.Equals("filename*", StringComparison.OrdinalIgnoreCase));

    /// <summary>A file part's name as sent: the RFC 5987 `filename*` if there is one, else `filename`.</summary>
    public static string FileName(ContentDispositionHeaderValue disposition) =>
        HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value ?? HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? "";

    private static async Task<string> ReadTextAsync(Stream part, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxTextPartBytes + 1];
        var read = await part.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return read > MaxTextPartBytes ? throw Invalid($"The part '{name}' is longer than {MaxTextPartBytes} bytes.") : Encoding.UTF8.GetString(buffer, 0, read).Trim();
    }

    private static DomainException Invalid(string detail) => Invalid(ProblemCodes.InvalidRequest, detail);

    private static DomainException Invalid(string code, string detail) => new(ErrorKind.BadRequest, code, "Invalid multipart request", detail);
}
