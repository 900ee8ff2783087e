using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Sessions.Api.Security;

/// <summary>One policy per role; a role passes the policies of the roles below it.</summary>
public static class Policies
{
    public const string Viewer = "viewer";
    public const string Editor = "editor";
    public const string Admin = "admin";

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Viewer, AtLeast(Role.Viewer));
        options.AddPolicy(Editor, AtLeast(Role.Editor));
        options.AddPolicy(Admin, AtLeast(Role.Admin));

        // Every endpoint needs a key unless it says otherwise (health, OpenAPI, the console's files).
        options.FallbackPolicy = AtLeast(Role.Viewer);
    }

    private static AuthorizationPolicy AtLeast(Role role) => new AuthorizationPolicyBuilder(ApiKeyAuthentication.SchemeName)
        .RequireAuthenticatedUser()
        .RequireAssertion(context => Enum.TryParse<Role>(context.User.FindFirstValue(ClaimTypes.Role), ignoreCase: true, out var held) && held >= role)
        .Build();
}
