namespace Sessions.Runtime.Storage;

/// <summary>A store's own upkeep: its schema, and whether it answers.</summary>
public interface IStoreLifecycle
{
    /// <summary>Brings the schema up to date. Called once at startup, before the first request; idempotent.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Throws when the store cannot be reached; used by /health.</summary>
    Task CheckAsync(CancellationToken cancellationToken);
}
