using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Sessions.Api.Hosting;

/// <summary>Says in one line why the server could not start, for the failures a person fixes by changing how it is started.</summary>
public static class StartupFailure
{
    public static string? Describe(Exception failure, IConfiguration configuration)
    {
        var urls = configuration["urls"] ?? Security.ListenGuard.DefaultUrl;
        return failure switch
        {
            IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } or IOException { InnerException: Microsoft.AspNetCore.Connections.AddressInUseException } =>
                $"Cannot listen on {urls}: the address is already in use (is another server running there?). Choose another with --urls or ASPNETCORE_URLS.",
            IOException { Message: var message } when message.Contains("Failed to bind", StringComparison.Ordinal) =>
                $"Cannot listen on {urls}: {message} Choose another address with --urls or ASPNETCORE_URLS.",
            InvalidOperationException or FormatException or UriFormatException when failure.Message.Contains("url", StringComparison.OrdinalIgnoreCase) =>
                $"Cannot listen on '{urls}': {failure.Message} An address looks like http://127.0.0.1:5080.",
            StoreUnavailableException unavailable => unavailable.Message,
            OptionsValidationException invalid =>
                $"Invalid configuration: {string.Join(" ", invalid.Failures)}",
            _ => null,
        };
    }
}
