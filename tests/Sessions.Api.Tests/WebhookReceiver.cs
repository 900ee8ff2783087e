using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Api.Webhooks;

namespace Sessions.Api.Tests;

/// <summary>
/// A real webhook receiver on loopback. It checks each signature it is sent against the secret it was given (and
/// records whether it held), answers 503 to the first attempts of a path while told to, and records every request
/// in the order it came.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Dictionary<string, int> failuresLeft = [];

    private WebhookReceiver(WebApplication app) => this.app = app;

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>The W3C `traceparent` of each request, as it came (null without one).</summary>
    public ConcurrentQueue<string?> TraceParents { get; } = new();

    public static async Task<WebhookReceiver> StartAsync(string secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/{path}", async (string path, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            var id = request.Headers["webhook-id"].ToString();
            var timestamp = request.Headers["webhook-timestamp"].ToString();
            var signature = request.Headers["webhook-signature"].ToString();
            var verified = signature.Length > 0 && signature == HttpWebhookSender.Sign(secret, id, timestamp, body.ToArray());
            var failing = receiver.TakeFailure(path);
            receiver.TraceParents.Enqueue(request.Headers["traceparent"].FirstOrDefault());
            receiver.Requests.Enqueue(new Received(path, id, timestamp, signature.Length > 0 ? verified : null, Encoding.UTF8.GetString(body.ToArray()), failing ? 503 : 204));
            return failing ? Results.StatusCode(503) : Results.NoContent();
        });

        await app.StartAsync();
        receiver.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    /// <summary>The next <paramref name="attempts"/> requests to <paramref name="path"/> are answered 503.</summary>
    public void FailNext(string path, int attempts)
    {
        lock (failuresLeft)
        {
            failuresLeft[path] = attempts;
        }
    }

    public IReadOnlyList<Received> To(string path) => Requests.Where(r => r.Path == path).ToList();

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    private bool TakeFailure(string path)
    {
        lock (failuresLeft)
        {
            if (failuresLeft.GetValueOrDefault(path) <= 0)
            {
                return false;
            }

            failuresLeft[path]--;
            return true;
        }
    }

    /// <param name="SignatureValid">Null when the request was sent unsigned.</param>
    public sealed record Received(string Path, string Id, string Timestamp, bool? SignatureValid, string Body, int Answered);
}
