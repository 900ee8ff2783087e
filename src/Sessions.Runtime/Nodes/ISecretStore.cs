namespace Sessions.Runtime.Nodes;

/// <summary>
/// Named secret values per tenant (API keys, tokens). Nodes may put them in outgoing requests; nothing that is recorded
/// (events, responses, stored runs, logs) may contain them.
/// </summary>
public interface ISecretStore
{
    string? Get(string tenantId, string name);
}

/// <summary>The store when none is configured: no secrets, so a node that needs one fails saying which.</summary>
public sealed class NoSecrets : ISecretStore
{
    public string? Get(string tenantId, string name) => null;
}
