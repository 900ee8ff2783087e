using Microsoft.Extensions.FileProviders;

namespace Sessions.Api.Endpoints;

/// <summary>
/// The web console: static files under /ui, copied beside the server at build (like the samples), so a Release build
/// started from its own folder serves them too. No CDN: everything it needs is in the folder.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Path = "/ui";

    public static WebApplication UseConsole(this WebApplication app)
    {
        var files = new PhysicalFileProvider(System.IO.Path.Combine(AppContext.BaseDirectory, "console"));

        // DefaultFiles also redirects /ui to /ui/, so no endpoint is needed (one would match /ui/ too).
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = Path });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = Path });
        app.MapGet("/", () => Results.Redirect($"{Path}/")).ExcludeFromDescription().AllowAnonymous();
        return app;
    }
}
