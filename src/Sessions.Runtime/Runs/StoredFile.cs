using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Runs;

/// <summary>
/// A file a client sent with a turn, as the run sees it: `{ file_id, name, content_type, size, sha256 }` in its
/// variables. The bytes are in the store in chunks of <see cref="ChunkBytes"/>, numbered from 0.
/// </summary>
public sealed record StoredFile(string FileId, string Name, string ContentType, long Size, string Sha256)
{
    /// <summary>The size of the pieces a file is stored and served in: what one request holds of it in memory at a time.</summary>
    public const int ChunkBytes = 256 * 1024;

    public int ChunkCount => (int)((Size + ChunkBytes - 1) / ChunkBytes);

    public JsonObject ToJson() => new()
    {
        ["file_id"] = FileId,
        ["name"] = Name,
        ["content_type"] = ContentType,
        ["size"] = Size,
        ["sha256"] = Sha256,
    };

    /// <summary>A descriptor the server wrote (in a recorded input); null for anything else.</summary>
    public static StoredFile? FromJson(JsonNode? json)
    {
        string? Text(string field) => json?[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        return json?["size"] is JsonValue s && s.TryGetValue<long>(out var size)
            && Text("file_id") is { } id && Text("name") is { } name && Text("content_type") is { } type && Text("sha256") is { } hash
            ? new StoredFile(id, name, type, size, hash)
            : null;
    }
}

/// <summary>A file of one turn and the multipart part it came in, whose name is the variable it fills.</summary>
public sealed record UploadedFile(string PartName, StoredFile File)
{
    /// <summary>Where a turn's files are kept in its recorded input (`{ part name: descriptor }`): set by the server only.</summary>
    public const string RecordedField = "files";

    /// <summary>The files a recorded input holds, in order.</summary>
    public static IReadOnlyList<UploadedFile> Of(JsonObject recorded) =>
        recorded[RecordedField] is JsonObject files
            ? files.Select(p => StoredFile.FromJson(p.Value) is { } file ? new UploadedFile(p.Key, file) : null).OfType<UploadedFile>().ToList()
            : [];

    public static JsonObject Record(IEnumerable<UploadedFile> files)
    {
        var recorded = new JsonObject();
        foreach (var file in files)
        {
            recorded[file.PartName] = file.File.ToJson();
        }

        return recorded;
    }
}
