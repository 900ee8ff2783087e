namespace Sessions.Client;

/// <summary>Where the server is and who the client is.</summary>
public sealed class SessionsClientOptions
{
    /// <summary>The server's address, for example `http://127.0.0.1:5080`.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>An API key, sent as `Authorization: Bearer`; none for a server on loopback without keys.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// A token from an identity provider, asked for before every request (cache it in the delegate); wins over
    /// <see cref="ApiKey"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessToken { get; set; }

    /// <summary>
    /// How long one attempt may take before it is given up (and retried where that is safe). A turn runs its nodes
    /// before it answers, model calls included: the default is generous.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a request whose retry is safe (a read, or a turn under its idempotency key) is tried again.</summary>
    public int MaxRetries { get; set; } = 3;
}
