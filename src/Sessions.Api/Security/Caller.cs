using Sessions.Runtime.Turns;
using System.Security.Claims;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Security;

/// <summary>What a key may do. Each role includes the ones below it.</summary>
public enum Role
{
    /// <summary>Reads workflows, starts runs, and sees only the runs it started.</summary>
    Viewer = 1,

    /// <summary>Also uploads workflows, sees every run of its tenant, forks, replays and cancels runs.</summary>
    Editor = 2,

    /// <summary>Also cancels every run of a workflow at once.</summary>
    Admin = 3,
}

/// <summary>Who sent the request: the tenant every lookup is scoped by, the principal and its role.</summary>
public sealed class Caller
{
    public const string TenantClaim = "sessions:tenant";

    /// <summary>The query parameter with which an admin asks to see deleted runs and workflows too.</summary>
    public const string IncludeDeletedParameter = "include_deleted";

    public Caller(HttpContext http)
        : this(http.User)
    {
        IncludeDeleted = http.Request.Query[IncludeDeletedParameter].FirstOrDefault() is { } asked
            && Http.RouteValues.BooleanOrThrow(asked, IncludeDeletedParameter, fallback: false);
        if (IncludeDeleted && Role != Role.Admin)
        {
            throw new DomainException(ErrorKind.Forbidden, ProblemCodes.Forbidden, "Not permitted", "Only an admin sees deleted runs and workflows (include_deleted=true).");
        }
    }

    public Caller(ClaimsPrincipal user)
    {
        TenantId = user.FindFirstValue(TenantClaim) ?? throw new InvalidOperationException("The request was not authenticated.");
        Principal = user.FindFirstValue(ClaimTypes.Name)!;
        Role = Enum.Parse<Role>(user.FindFirstValue(ClaimTypes.Role)!, ignoreCase: true);
        HasKey = user.Identity?.AuthenticationType == ApiKeyAuthentication.SchemeName;
    }

    public string TenantId { get; }

    public string Principal { get; }

    public Role Role { get; }

    /// <summary>False when no keys are configured and every (loopback) request is the default tenant's admin.</summary>
    public bool HasKey { get; }

    /// <summary>A viewer sees only the runs it started; others see every run of the tenant.</summary>
    public string? OnlyRunsBy => Role == Role.Viewer ? Principal : null;

    /// <summary>An admin asked to see deleted runs and workflows too (`include_deleted=true`).</summary>
    public bool IncludeDeleted { get; }

    /// <summary>The runs this caller may see, for every read and turn (<see cref="RunScope"/>).</summary>
    public RunScope Scope => new(TenantId, OnlyRunsBy, IncludeDeleted);

    /// <summary>
    /// Who a new run is recorded as started by: for a viewer always itself; for others the body's `run_by`, else the
    /// key's principal (a harness may start runs on behalf of its own users).
    /// </summary>
    public string? RunByFor(string? requested)
    {
        if (OnlyRunsBy is { } own && requested is not null && requested != own)
        {
            throw new DomainException(ErrorKind.Forbidden, ProblemCodes.Forbidden, "Not permitted", "A viewer's runs are always its own: run_by must be absent or the key's principal.");
        }

        return requested ?? (HasKey ? Principal : null);
    }
}
