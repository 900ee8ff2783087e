using System.IO.Compression;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Sessions.Storage.Sqlite;

/// <summary>
/// How a turn record's JSON columns are kept: text up to a threshold (<see cref="SqliteStoreOptions.CompressJsonOverBytes"/>),
/// deflated above it (a BLOB in the same column; SQLite keeps a value's type with the value, so a reader tells the two
/// apart, and a file may hold both). A turn's events and its snapshots are most of what a conversation stores and
/// deflate about four to one.
/// </summary>
internal static class PackedJson
{
    public static object Pack(string? json, int threshold)
    {
        if (json is null)
        {
            return DBNull.Value;
        }

        // A character is at most three bytes of UTF-8: most short values need no count.
        var bytes = threshold == 0 || json.Length <= threshold / 3 ? 0 : Encoding.UTF8.GetByteCount(json);
        if (bytes <= threshold)
        {
            return json;
        }

        var packed = new MemoryStream(bytes / 3);
        using (var deflate = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(Encoding.UTF8.GetBytes(json));
        }

        return packed.ToArray();
    }

    /// <summary>The JSON text of column <paramref name="ordinal"/>, however it was kept; null when the column is.</summary>
    public static string? Read(SqliteDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        if (reader.GetFieldType(ordinal) != typeof(byte[]))
        {
            return reader.GetString(ordinal);
        }

        using var inflate = new ZLibStream(reader.GetStream(ordinal), CompressionMode.Decompress);
        using var text = new StreamReader(inflate, Encoding.UTF8);
        return text.ReadToEnd();
    }
}
