using System.Net;
using Sessions.Testing;

namespace Sessions.Clients.Tests;

/// <summary>A folder served on a loopback port of its own: a frontend's origin, apart from the server's.</summary>
public sealed class StaticSite(string folder) : IDisposable
{
    private readonly LoopbackHttp http = new(context => ServeAsync(folder, context));

    public string Origin => http.Address;

    private static async Task ServeAsync(string folder, HttpListenerContext context)
    {
        var name = Path.GetFileName(context.Request.Url!.AbsolutePath);
        var file = Path.Combine(folder, name.Length == 0 ? "index.html" : name);
        if (!File.Exists(file))
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = file.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "text/html; charset=utf-8";
        await using var content = File.OpenRead(file);
        await content.CopyToAsync(context.Response.OutputStream);
    }

    public void Dispose() => http.Dispose();
}
