namespace Sessions.Storage.Postgres;

public sealed class PostgresStoreOptions
{
    public const string Section = "Sessions:Postgres";

    /// <summary>An Npgsql connection string, e.g. `Host=127.0.0.1;Username=sessions;Password=...;Database=sessions`.</summary>
    public string ConnectionString { get; set; } = "";
}
