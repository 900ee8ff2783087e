using System.ComponentModel.DataAnnotations;

namespace Sessions.Storage.MongoDb;

public sealed class MongoStoreOptions
{
    public const string Section = "Sessions:MongoDb";

    /// <summary>A MongoDB connection string to a replica set (a single-node one will do), e.g. `mongodb://127.0.0.1:27017/?replicaSet=rs0`.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    [Required]
    public string Database { get; set; } = "sessions";
}
