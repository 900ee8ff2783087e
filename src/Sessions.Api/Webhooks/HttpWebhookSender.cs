using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Webhooks;

namespace Sessions.Api.Webhooks;

/// <summary>
/// Makes one delivery attempt: `POST` of the JSON envelope, signed the Standard Webhooks way (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature: v1,&lt;base64 HMAC-SHA256 of "id.timestamp.body"&gt;`), through the
/// factory's `webhooks` client, whose connections refuse private addresses unless configured otherwise.
/// </summary>
public sealed class HttpWebhookSender(IHttpClientFactory clients, ISecretStore secrets, IOptions<WebhookOptions> options, TimeProvider clock) : IWebhookSender
{
    public const string ClientName = "webhooks";

    public async Task<SendResult> SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var body = Envelope(delivery);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("webhook-id", delivery.Id);
        request.Headers.Add("webhook-timestamp", timestamp);
        if (delivery.SecretName is { } name)
        {
            var secret = secrets.Get(delivery.TenantId, name);
            if (secret is null)
            {
                return new SendResult(null, $"the secret '{name}' is not configured for this tenant");
            }

            request.Headers.Add("webhook-signature", Sign(secret, delivery.Id, timestamp, body));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return new SendResult((int)response.StatusCode, response.IsSuccessStatusCode ? null : $"answered {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult(null, $"no answer within {options.Value.TimeoutSeconds} s");
        }
        catch (HttpRequestException ex)
        {
            return new SendResult(null, ex.InnerException is PrivateNetworkException refused ? refused.Message : ex.Message);
        }
    }

    /// <summary>The delivery's body: `{ id, type, run_id, workflow_id, turn_number, status, occurred_at, data }`, data the turn's answer as sent.</summary>
    public static byte[] Envelope(WebhookDelivery delivery)
    {
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", delivery.Id);
            writer.WriteString("type", delivery.Type);
            writer.WriteString("run_id", delivery.RunId);
            writer.WriteString("workflow_id", delivery.WorkflowId);
            writer.WriteNumber("turn_number", delivery.TurnNumber);
            writer.WriteString("status", delivery.Status.ToWire());
            writer.WriteString("occurred_at", delivery.OccurredAt.UtcDateTime);
            writer.WritePropertyName("data");
            if (delivery.Data is { } answer)
            {
                writer.WriteRawValue(answer, skipInputValidation: true);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. The key is the secret's UTF-8 bytes, or for a secret
    /// written `whsec_&lt;base64&gt;` as the Standard Webhooks spec does, the decoded bytes.
    /// </summary>
    public static string Sign(string secret, string id, string timestamp, byte[] body)
    {
        var key = secret.StartsWith("whsec_", StringComparison.Ordinal) ? Convert.FromBase64String(secret["whsec_".Length..]) : Encoding.UTF8.GetBytes(secret);
        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }

    /// <summary>
    /// Connects only to public addresses unless private networks are allowed: every address a name resolves to is
    /// checked when the connection is made, so a name that resolves elsewhere later (DNS rebinding) cannot slip through.
    /// </summary>
    public static SocketsHttpHandler Handler(bool allowPrivateNetworks) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        AllowAutoRedirect = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
            var allowed = addresses.Where(a => allowPrivateNetworks || !IsPrivate(a)).ToArray();
            if (allowed.Length == 0)
            {
                throw new PrivateNetworkException(context.DnsEndPoint.Host);
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>Loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local (169.254/16, fe80::/10) or unspecified.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var first = address.GetAddressBytes()[0];
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || (first & 0xFE) == 0xFC;
        }

        var b = address.GetAddressBytes();
        return b[0] == 10
            || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
            || b[0] == 0;
    }
}

/// <summary>A delivery refused because its address is loopback, private or link-local (Sessions:Webhooks:AllowPrivateNetworks).</summary>
public sealed class PrivateNetworkException(string host)
    : Exception($"refused: {host} is a loopback, private or link-local address (Sessions:Webhooks:AllowPrivateNetworks is off)");
