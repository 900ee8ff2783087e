using System.ComponentModel.DataAnnotations;

namespace Sessions.Api.Configuration;

/// <summary>The server's own settings, bound from the `Sessions` section and checked at startup.</summary>
public sealed class SessionsOptions
{
    public const string Section = "Sessions";

    /// <summary>The tenant of every request when no API keys are configured, and the tenant the samples are loaded into.</summary>
    [Required]
    [RegularExpression(Security.AuthOptions.TenantPattern)]
    public string DefaultTenant { get; set; } = "default";

    /// <summary>Bodies larger than this are refused with 413 before they are parsed.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 256 * 1024;

    /// <summary>How often a stream sends `ping` while nothing else happens, so proxies and clients keep it open.</summary>
    [Range(0.05, 300)]
    public double StreamPingSeconds { get; set; } = 9;

    /// <summary>
    /// Origins (such as `http://localhost:3000`) whose pages may call the API from a browser: a chat frontend served
    /// from its own address (`useStream`, `useChat`). Empty: only pages of the server's own origin may.
    /// </summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>Whether the sample workflows are created at startup (only those that are absent).</summary>
    public bool LoadSamples { get; set; } = true;

    /// <summary>Folder of sample definitions; relative paths are resolved against the application's folder.</summary>
    [Required]
    public string SamplesPath { get; set; } = "samples/workflows";
}
