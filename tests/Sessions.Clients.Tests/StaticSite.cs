using System.Net;
using System.Net.Sockets;

namespace Sessions.Clients.Tests;

/// <summary>A folder served on a loopback port of its own: a frontend's origin, apart from the server's.</summary>
public sealed class StaticSite : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly string folder;

    public StaticSite(string folder)
    {
        this.folder = folder;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Origin = $"http://127.0.0.1:{port}";
        listener.Prefixes.Add(Origin + "/");
        listener.Start();
        _ = ServeAsync();
    }

    public string Origin { get; }

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

            var name = Path.GetFileName(context.Request.Url!.AbsolutePath);
            var file = Path.Combine(folder, name.Length == 0 ? "index.html" : name);
            if (File.Exists(file))
            {
                context.Response.ContentType = file.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "text/html; charset=utf-8";
                await using var content = File.OpenRead(file);
                await content.CopyToAsync(context.Response.OutputStream);
            }
            else
            {
                context.Response.StatusCode = 404;
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
