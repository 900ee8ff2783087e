namespace Sessions.Runtime.Storage;

/// <summary>Brings a store's schema up to date. Called once at startup, before the first request; idempotent.</summary>
public interface IStoreInitializer
{
    Task InitializeAsync(CancellationToken cancellationToken);
}
