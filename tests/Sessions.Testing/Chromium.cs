using Microsoft.Playwright;
using Xunit;

namespace Sessions.Testing;

/// <summary>
/// Debian's chromium driven by Playwright (its own browser download cannot work here), headless, with nothing it does
/// on its own reaching the network.
/// </summary>
public static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(Path), $"The browser tests need Debian's chromium at {Path}: sudo apt-get install chromium");
        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }
}
