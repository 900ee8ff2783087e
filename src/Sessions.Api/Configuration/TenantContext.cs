using Microsoft.Extensions.Options;

namespace Sessions.Api.Configuration;

/// <summary>Whose data a request may see. Every store lookup takes this tenant; authentication will set it per API key.</summary>
public interface ITenantContext
{
    string TenantId { get; }
}

public sealed class DefaultTenantContext(IOptions<SessionsOptions> options) : ITenantContext
{
    public string TenantId => options.Value.DefaultTenant;
}
