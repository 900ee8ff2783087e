using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Client.Tests;

/// <summary>How the proxy drops the next request that matches.</summary>
public enum Drop
{
    /// <summary>The server gets the request and answers; the client gets nothing: the connection is cut before the answer.</summary>
    TheAnswer,

    /// <summary>The client gets the answer's headers and its first server-sent event, then the connection is cut.</summary>
    AfterFirstEvent,
}

/// <summary>
/// A proxy on loopback between the client and the real server, standing in for the network: it forwards every request
/// as it is, and cuts the connection of the requests a test names, at the moment it names, as a flaky network or a
/// restarting load balancer would.
/// </summary>
public sealed class DroppingProxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<(string Path, Drop How)> drops = new();
    private int skips;
    private readonly HttpClient upstream;

    private DroppingProxy(WebApplication app, Uri server)
    {
        this.app = app;
        upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>Every request the proxy saw, as `METHOD path`, in order.</summary>
    public ConcurrentQueue<string> Seen { get; } = new();

    public static async Task<DroppingProxy> StartAsync(Uri server)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new DroppingProxy(app, server);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        proxy.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return proxy;
    }

    /// <summary>
    /// Drops the next request whose path ends with <paramref name="pathEnd"/>, as <paramref name="how"/> says, after
    /// letting <paramref name="skip"/> such requests through.
    /// </summary>
    public void DropNext(string pathEnd, Drop how, int skip = 0)
    {
        Interlocked.Exchange(ref skips, skip);
        drops.Enqueue((pathEnd, how));
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var path = context.Request.Path.Value + context.Request.QueryString.Value;
        Seen.Enqueue($"{context.Request.Method} {path}");
        Drop? drop = null;
        if (drops.TryPeek(out var next) && context.Request.Path.Value!.EndsWith(next.Path, StringComparison.Ordinal)
            && Interlocked.Decrement(ref skips) < 0 && drops.TryDequeue(out next))
        {
            drop = next.How;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), path);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (body.Length > 0 || context.Request.ContentType is not null)
        {
            request.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is "Host" or "Content-Length" or "Transfer-Encoding")
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        if (drop == Drop.TheAnswer)
        {
            // The server took the request to its end; the client hears nothing of it.
            await response.Content.CopyToAsync(Stream.Null);
            context.Abort();
            return;
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not ("Transfer-Encoding" or "Content-Length"))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        var buffer = new byte[8192];
        var previous = (byte)0;
        int read;
        while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            var end = drop == Drop.AfterFirstEvent ? EndOfFirstEvent(buffer.AsSpan(0, read), previous) : -1;
            if (end >= 0)
            {
                // One whole event went out; the rest of the stream is lost with the connection.
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, end + 1), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                context.Abort();
                return;
            }

            await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            previous = buffer[read - 1];
        }
    }

    /// <summary>Where the first blank line (the end of a server-sent event) is in <paramref name="chunk"/>, or -1.</summary>
    private static int EndOfFirstEvent(ReadOnlySpan<byte> chunk, byte previous)
    {
        for (var i = 0; i < chunk.Length; i++)
        {
            if (chunk[i] == (byte)'\n' && (i == 0 ? previous : chunk[i - 1]) == (byte)'\n')
            {
                return i;
            }
        }

        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        upstream.Dispose();
        await app.DisposeAsync();
    }
}
