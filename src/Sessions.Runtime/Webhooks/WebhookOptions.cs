using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Webhooks;

/// <summary>How webhooks are delivered. Section `Sessions:Webhooks`.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Sessions:Webhooks";

    /// <summary>Milliseconds between looks for due deliveries on each server; 0 makes none here.</summary>
    [Range(0, 60_000)]
    public int PollMilliseconds { get; set; } = 500;

    /// <summary>The most deliveries one look makes, each on its own task.</summary>
    [Range(1, 1_000)]
    public int Batch { get; set; } = 32;

    /// <summary>How long failed attempts are retried (with exponential backoff) before a delivery is given up.</summary>
    [Range(0.001, 24 * 30)]
    public double RetryHours { get; set; } = 24;

    /// <summary>One attempt's timeout.</summary>
    [Range(0.1, 300)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>How long a server's claim on a delivery lasts; a delivery whose server died is due again after it.</summary>
    [Range(1, 3_600)]
    public double ClaimSeconds { get; set; } = 60;

    /// <summary>
    /// Whether deliveries may go to loopback, private (RFC 1918, unique local) and link-local addresses. Off by
    /// default, so that a workflow author cannot make the server call into its own network (SSRF); on for
    /// development and tests.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    public TimeSpan Claim => TimeSpan.FromSeconds(ClaimSeconds);

    public TimeSpan RetryPeriod => TimeSpan.FromHours(RetryHours);

    /// <summary>The wait after the <paramref name="failures"/>-th failed attempt: 1 s, 2 s, 4 s, ... at most an hour.</summary>
    public static TimeSpan Backoff(int failures) => TimeSpan.FromSeconds(Math.Min(3_600, Math.Pow(2, Math.Max(0, failures - 1))));
}
