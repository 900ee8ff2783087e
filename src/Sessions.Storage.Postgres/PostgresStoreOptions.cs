namespace Sessions.Storage.Postgres;

public sealed class PostgresStoreOptions
{
    public const string Section = "Sessions:Postgres";

    /// <summary>An Npgsql connection string, e.g. `Host=127.0.0.1;Username=sessions;Password=...;Database=sessions`.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The most connections one instance opens (it overrides the connection string's Maximum Pool Size). Requests
    /// beyond it wait for a free one; keep instances × this under the server's max_connections (100 by default).
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1000)]
    public int MaxPoolSize { get; set; } = 20;
}
