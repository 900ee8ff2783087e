using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Values;

namespace Sessions.Api.Http;

/// <summary>
/// A batch's items as a request sends them: a JSON array of objects, or a multipart file of CSV (a header row of
/// field names, then one row per item, every value text) or JSON Lines (one object per line). Each item becomes the
/// `dynamic_variables` of its run.
/// </summary>
public static class BatchInput
{
    public static async Task<IReadOnlyList<JsonObject>> ReadAsync(HttpRequest request, RequestBody json, int maxItems, CancellationToken cancellationToken)
    {
        if (!MultipartTurn.Is(request))
        {
            var body = await json.ReadJsonAsync(request, cancellationToken);
            if (body is not JsonArray array)
            {
                throw Invalid("The body is a JSON array of input objects, or a multipart/form-data body with one CSV or JSON Lines file.");
            }

            var items = new List<JsonObject>();
            for (var i = 0; i < array.Count; i++)
            {
                items.Add(array[i] is JsonObject item ? (JsonObject)item.DeepClone() : throw Invalid($"Item {i} is not a JSON object.").With("index", i));
            }

            return Bounded(items, maxItems);
        }

        try
        {
            return await ReadFileAsync(MultipartTurn.OpenReader(request), json, maxItems, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw Invalid($"The multipart body could not be read: {ex.Message}");
        }
        catch (DecoderFallbackException)
        {
            throw Invalid("The file is not valid UTF-8.");
        }
    }

    private static async Task<IReadOnlyList<JsonObject>> ReadFileAsync(MultipartReader reader, RequestBody json, int maxItems, CancellationToken cancellationToken)
    {
        var section = await reader.ReadNextSectionAsync(cancellationToken) ?? throw Invalid("The multipart body has no file.");
        var disposition = section.GetContentDispositionHeader();
        if (disposition is null || !MultipartTurn.IsFilePart(disposition))
        {
            throw Invalid("The multipart body is one file part: a CSV or JSON Lines file of items.");
        }

        var name = MultipartTurn.FileName(disposition).ToLowerInvariant();
        var type = section.ContentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        using var text = new StreamReader(section.Body, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var parsed = type is "text/csv" || name.EndsWith(".csv", StringComparison.Ordinal) ? await ReadCsvAsync(text, maxItems, cancellationToken)
            : type is "application/x-ndjson" or "application/jsonl" or "application/json-lines" || name.EndsWith(".jsonl", StringComparison.Ordinal) || name.EndsWith(".ndjson", StringComparison.Ordinal)
                ? await ReadJsonLinesAsync(text, json, maxItems, cancellationToken)
                : throw Invalid("The file is CSV (text/csv, .csv) or JSON Lines (application/x-ndjson, .jsonl).");
        if (await reader.ReadNextSectionAsync(cancellationToken) is not null)
        {
            throw Invalid("The multipart body is one file part only.");
        }

        return Bounded(parsed, maxItems);
    }

    private static async Task<List<JsonObject>> ReadJsonLinesAsync(StreamReader text, RequestBody json, int maxItems, CancellationToken cancellationToken)
    {
        var items = new List<JsonObject>();
        var number = 0;
        while (await text.ReadLineAsync(cancellationToken) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var parsed = await json.ReadPartAsync(new MemoryStream(Encoding.UTF8.GetBytes(line)), $"line {number}", cancellationToken);
            items.Add(parsed.Json as JsonObject ?? throw Invalid($"Line {number} is not a JSON object.").With("line", number));
            if (items.Count > maxItems)
            {
                break;
            }
        }

        return items;
    }

    /// <summary>RFC 4180: fields separated by commas, quoted with `"` when they hold commas, quotes or line breaks.</summary>
    private static async Task<List<JsonObject>> ReadCsvAsync(StreamReader text, int maxItems, CancellationToken cancellationToken)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var buffer = new char[16 * 1024];
        int read;
        char? previous = null;
        while ((read = await text.ReadAsync(buffer, cancellationToken)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (quoted)
                {
                    if (c == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        field.Append(c);
                    }
                }
                else if (c == '"')
                {
                    // A quote right after a closing quote is an escaped quote.
                    if (previous == '"')
                    {
                        field.Append('"');
                    }

                    quoted = true;
                }
                else if (c == ',')
                {
                    row.Add(field.ToString());
                    field.Clear();
                }
                else if (c is '\n' or '\r')
                {
                    if (!(c == '\n' && previous == '\r'))
                    {
                        row.Add(field.ToString());
                        field.Clear();
                        if (row.Count > 1 || row[0].Length > 0)
                        {
                            rows.Add(row);
                        }

                        row = [];
                        if (rows.Count > maxItems + 1)
                        {
                            return ToItems(rows);
                        }
                    }
                }
                else
                {
                    field.Append(c);
                }

                previous = c;
            }
        }

        if (quoted)
        {
            throw Invalid("The CSV file ends inside a quoted field.");
        }

        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            rows.Add(row);
        }

        return ToItems(rows);
    }

    private static List<JsonObject> ToItems(List<List<string>> rows)
    {
        if (rows.Count == 0)
        {
            throw Invalid("The CSV file has no header row.");
        }

        var header = rows[0].Select(h => h.Trim()).ToList();
        if (header.Any(h => h.Length == 0) || header.Distinct(StringComparer.Ordinal).Count() != header.Count)
        {
            throw Invalid("The CSV header row names each column once, none empty.");
        }

        var items = new List<JsonObject>();
        for (var r = 1; r < rows.Count; r++)
        {
            if (rows[r].Count != header.Count)
            {
                throw Invalid($"Row {r + 1} of the CSV file has {rows[r].Count} fields; the header has {header.Count}.").With("row", r + 1);
            }

            var item = new JsonObject();
            for (var c = 0; c < header.Count; c++)
            {
                item[header[c]] = rows[r][c];
            }

            if (JsonText.FindUnkeepable(item) is not null)
            {
                throw Invalid($"Row {r + 1} of the CSV file holds text that cannot be kept (a NUL).").With("row", r + 1);
            }

            items.Add(item);
        }

        return items;
    }

    private static IReadOnlyList<JsonObject> Bounded(List<JsonObject> items, int maxItems) =>
        items.Count is > 0 && items.Count <= maxItems ? items : throw Invalid($"A batch has 1 to {maxItems} items.");

    private static DomainException Invalid(string detail) => new(ErrorKind.BadRequest, ProblemCodes.InvalidBatch, "Invalid batch", detail);
}
