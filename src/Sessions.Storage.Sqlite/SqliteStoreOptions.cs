namespace Sessions.Storage.Sqlite;

public sealed class SqliteStoreOptions
{
    public const string Section = "Sessions:Sqlite";

    /// <summary>The database file; relative paths are resolved against the working directory. Its folder is created.</summary>
    public string Path { get; set; } = "data/sessions.db";
}
