namespace Sessions.Runtime.Definitions;

/// <summary>
/// Who hears about a run: a URL, the events it wants, and the name of the secret that signs what it gets. Declared
/// by the workflow (`webhooks`), or by a run's first turn (`run_input.webhook_url`, every event, unsigned).
/// </summary>
public sealed record WebhookSubscription(string Url, IReadOnlyList<string> Events, string? SecretName)
{
    /// <summary>An absolute http or https URL; what else a webhook URL may not be is checked when it is called.</summary>
    public static bool IsValidUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.UserInfo.Length == 0;
}
