using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Sessions.Api.Http;

/// <summary>
/// Writes a `text/event-stream` response: `id` is the event's seq, `event` names the kind of message (run events go
/// without a name, as plain messages), `data` is one line of JSON. Headers go out with the first message, so a request
/// refused before anything happened can still answer with its own status and problem.
/// </summary>
public sealed class ServerSentEvents(HttpResponse response, IOptions<JsonOptions> json)
{
    public bool Started { get; private set; }

    /// <summary>False once the client has gone; writing then does nothing, and the work behind the stream carries on.</summary>
    public bool ClientConnected { get; private set; } = true;

    public Task WriteAsync(string? eventName, object data, long? id = null) =>
        WriteRawAsync(eventName, JsonSerializer.Serialize(data, data.GetType(), json.Value.SerializerOptions), id);

    /// <summary>A message whose data is JSON already written, on one line.</summary>
    public Task WriteRawAsync(string? eventName, string data, long? id = null) =>
        WriteRawAsync(eventName, data, id?.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>A comment line: ignored by every reader, it tells one that watches for silence that the server is there.</summary>
    public Task CommentAsync(string comment) => WriteTextAsync($": {comment}\n\n");

    /// <inheritdoc cref="WriteRawAsync(string?, string, long?)"/>
    public Task WriteRawAsync(string? eventName, string data, string? id)
    {
        var text = new StringBuilder();
        if (id is not null)
        {
            text.Append("id: ").Append(id).Append('\n');
        }

        if (eventName is not null)
        {
            text.Append("event: ").Append(eventName).Append('\n');
        }

        text.Append("data: ").Append(data).Append("\n\n");
        return WriteTextAsync(text.ToString());
    }

    private async Task WriteTextAsync(string text)
    {
        if (!ClientConnected)
        {
            return;
        }

        try
        {
            Start();
            await response.WriteAsync(text);
            await response.Body.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            ClientConnected = false;
        }
    }

    public Task PingAsync() => WriteAsync("ping", new { });

    private void Start()
    {
        if (Started)
        {
            return;
        }

        Started = true;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }
}
