namespace Sessions.Storage.Sqlite;

public sealed class SqliteStoreOptions
{
    public const string Section = "Sessions:Sqlite";

    /// <summary>The database file; relative paths are resolved against the working directory. Its folder is created.</summary>
    public string Path { get; set; } = "data/sessions.db";

    /// <summary>
    /// A turn record's JSON column longer than this many bytes is kept deflated; 0 keeps every one as text. Deflating a
    /// turn's 1.6 KB of events takes about 14 µs, a few percent of a turn's CPU, so the default leaves ordinary turns as
    /// text and shrinks what is large (snapshots of long conversations, long model replies, recorded calls).
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, int.MaxValue)]
    public int CompressJsonOverBytes { get; set; } = 2048;
}
