using Sessions.Runtime.Nodes;

namespace Sessions.Api.Configuration;

/// <summary>
/// Secrets from configuration, `Sessions:Secrets:{tenant}:{name}`: in production set them as environment variables
/// (`Sessions__Secrets__default__orders_api=...`), never in a committed file.
/// </summary>
public sealed class ConfiguredSecretStore(IConfiguration configuration) : ISecretStore
{
    public string? Get(string tenantId, string name) => configuration[$"Sessions:Secrets:{tenantId}:{name}"];
}
