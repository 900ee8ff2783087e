namespace Sessions.Api.Hosting;

/// <summary>
/// Work that must finish before the server takes requests: StartingAsync runs before any hosted service's StartAsync,
/// the web server's included. Services run in the order they are registered.
/// </summary>
public abstract class BeforeListening : IHostedLifecycleService
{
    public abstract Task StartingAsync(CancellationToken cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
