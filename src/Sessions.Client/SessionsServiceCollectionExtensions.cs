using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Sessions.Client;

public static class SessionsServiceCollectionExtensions
{
    /// <summary>The named client of <see cref="IHttpClientFactory"/> that <see cref="SessionsClient"/> goes through.</summary>
    public const string ClientName = "Sessions";

    /// <summary>
    /// Registers <see cref="SessionsClient"/> over <see cref="IHttpClientFactory"/>, with the credentials of
    /// <paramref name="configure"/> and Microsoft.Extensions.Http.Resilience's standard handler, whose retries are
    /// limited to requests that are safe to send again: reads, and turns under an idempotency key (which the server
    /// applies once however often they arrive).
    /// </summary>
    public static IHttpClientBuilder AddSessionsClient(this IServiceCollection services, Action<SessionsClientOptions> configure)
    {
        services.AddOptions<SessionsClientOptions>().Configure(configure);
        services.AddTransient<CredentialsHandler>();
        var builder = services.AddHttpClient(ClientName, (provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<SessionsClientOptions>>().Value;
            http.BaseAddress = options.BaseAddress ?? throw new InvalidOperationException("SessionsClientOptions.BaseAddress is required: the server's address, for example http://127.0.0.1:5080.");
            // The resilience handler times each attempt; a stream is read after its headers, for as long as it runs.
            http.Timeout = Timeout.InfiniteTimeSpan;
        })
        .AddHttpMessageHandler<CredentialsHandler>();
        builder.AddStandardResilienceHandler().Configure((resilience, provider) =>
        {
            var options = provider.GetRequiredService<IOptions<SessionsClientOptions>>().Value;
            resilience.AttemptTimeout.Timeout = options.AttemptTimeout;
            resilience.TotalRequestTimeout.Timeout = options.AttemptTimeout * (options.MaxRetries + 2);
            resilience.CircuitBreaker.SamplingDuration = options.AttemptTimeout * 2 + TimeSpan.FromSeconds(1);
            resilience.Retry.MaxRetryAttempts = Math.Max(1, options.MaxRetries);
            var transient = resilience.Retry.ShouldHandle;
            resilience.Retry.ShouldHandle = async arguments =>
                SafeToRetry(arguments.Context.GetRequestMessage()) && await transient(arguments);
        });
        services.AddTransient(provider => new SessionsClient(provider.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName)));
        return builder;
    }

    /// <summary>Reads, and turns the server applies once under their idempotency key: sending them again changes nothing.</summary>
    internal static bool SafeToRetry(HttpRequestMessage? request) =>
        request is not null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options || request.Method == HttpMethod.Delete
            || request.Headers.Contains(SessionsClient.IdempotencyKeyHeader));

    /// <summary>Puts the API key, or the identity provider's token, on every request.</summary>
    internal sealed class CredentialsHandler(IOptions<SessionsClientOptions> options) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var token = options.Value.AccessToken is { } provider ? await provider(cancellationToken) : options.Value.ApiKey;
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
