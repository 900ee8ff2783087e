using System.Net;
using System.Net.Sockets;

namespace Sessions.Testing;

/// <summary>
/// A small HTTP server on a free loopback port, for what a test stands in for (an identity provider, a telemetry
/// collector, a frontend's origin): each request goes to <c>handle</c>, which answers it; the response is closed after.
/// </summary>
public sealed class LoopbackHttp : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Func<HttpListenerContext, Task> handle;

    public LoopbackHttp(Func<HttpListenerContext, Task> handle)
    {
        this.handle = handle;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Address = $"http://127.0.0.1:{port}";
        listener.Prefixes.Add(Address + "/");
        listener.Start();
        _ = ServeAsync();
    }

    /// <summary>`http://127.0.0.1:{port}`, without a trailing slash.</summary>
    public string Address { get; }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                await handle(context);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
                // The client went away: nothing to answer.
            }

            context.Response.Close();
        }
    }

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
    }
}
