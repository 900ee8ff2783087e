using Sessions.Runtime.Storage;

namespace Sessions.Api.Hosting;

/// <summary>Brings the store's schema up to date before anything else, so no request reaches a store that is not ready.</summary>
public sealed class StoreInitialization(IStoreLifecycle store, IConfiguration configuration, Readiness readiness) : BeforeListening
{
    public override async Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.InitializeAsync(cancellationToken);
            readiness.StoreIsPrepared();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The most common first-hour failure (the server is not running, the address is wrong): said in one line.
            var name = configuration[StoreSelection.Key] ?? "sqlite";
            var reason = ex.Message.Split('\n', 2)[0].Trim().TrimEnd('.') + ".";
            throw new StoreUnavailableException($"The {name} store cannot be used: {reason} Check its Sessions:* settings (see docs/configuration.md).", ex);
        }
    }
}

/// <summary>The store could not be reached or prepared at startup; the message says why in one line.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);
