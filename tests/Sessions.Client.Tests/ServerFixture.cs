using Sessions.Testing;

namespace Sessions.Client.Tests;

/// <summary>One real server process on SQLite for a test class, with the samples loaded, and a dropping proxy in front.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string OrderStatus = "66a1f0000000000000000001";

    private readonly TempDirectory folder = new();

    public ServerProcess Server { get; private set; } = null!;

    public DroppingProxy Proxy { get; private set; } = null!;

    /// <summary>A client of the server through the proxy, with the client's own handlers (retries included).</summary>
    public SessionsClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ServerProcess.StartAsync(folder.File("sessions.db"), "--Sessions:Workers:PollMilliseconds=100");
        Proxy = await DroppingProxy.StartAsync(Server.Address);
        Client = SessionsClient.Create(new SessionsClientOptions { BaseAddress = Proxy.Address, AttemptTimeout = TimeSpan.FromSeconds(30) });
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Proxy.DisposeAsync();
        await Server.DisposeAsync();
        folder.Dispose();
    }
}
