using System.Net;

namespace Sessions.Api.Security;

/// <summary>
/// Without API keys every request is the default tenant's admin, which is safe only on loopback. This finds the
/// addresses the configuration asks Kestrel to listen on that are not loopback, so startup can refuse them.
/// </summary>
public static class ListenGuard
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Whether any way of choosing addresses was used: --urls, ASPNETCORE_URLS, ports, or Kestrel endpoints.</summary>
    public static bool AnyConfigured(IConfiguration configuration) =>
        Split(configuration["urls"]).Any() || Split(configuration["http_ports"]).Any() || Split(configuration["https_ports"]).Any()
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

    public static IReadOnlyList<string> NonLoopbackAddresses(IConfiguration configuration)
    {
        var urls = new List<string>();
        urls.AddRange(Split(configuration["urls"]));
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());

        // ASPNETCORE_HTTP_PORTS / HTTPS_PORTS listen on every interface.
        urls.AddRange(Split(configuration["http_ports"]).Concat(Split(configuration["https_ports"])).Select(port => $"http://*:{port}"));
        return urls.Where(url => !IsLoopback(url)).ToList();
    }

    private static IEnumerable<string> Split(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool IsLoopback(string url)
    {
        var afterScheme = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var host = afterScheme.Split('/')[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}
