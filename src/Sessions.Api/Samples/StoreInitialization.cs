using Sessions.Runtime.Storage;

namespace Sessions.Api.Samples;

/// <summary>
/// Brings the store's schema up to date before anything else starts: StartingAsync runs before any hosted service's
/// StartAsync, including the web server's, so no request can reach a store that is not ready.
/// </summary>
public sealed class StoreInitialization(IStoreLifecycle store) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
