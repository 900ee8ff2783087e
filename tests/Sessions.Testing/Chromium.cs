using Microsoft.Playwright;
using Xunit;

namespace Sessions.Testing;

/// <summary>
/// Debian's chromium driven by Playwright (its own browser download cannot work here), headless, with nothing it does
/// on its own reaching the network; the browser and its driver are disposed together.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string Path = "/usr/bin/chromium";

    private readonly IPlaywright playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        this.playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        Assert.True(File.Exists(Path), $"The browser tests need Debian's chromium at {Path}: sudo apt-get install chromium");

        // The other test projects run beside the browser tests on a small CI machine; give pages room to answer.
        Assertions.SetDefaultExpectTimeout(20_000);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        return new Chromium(playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright.Dispose();
    }
}
