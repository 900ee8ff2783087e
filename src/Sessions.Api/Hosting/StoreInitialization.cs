using Sessions.Runtime.Storage;

namespace Sessions.Api.Hosting;

/// <summary>Brings the store's schema up to date before anything else, so no request reaches a store that is not ready.</summary>
public sealed class StoreInitialization(IStoreLifecycle store) : BeforeListening
{
    public override Task StartingAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);
}
