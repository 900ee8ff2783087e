using Microsoft.Playwright;
using Sessions.Testing;
using static Microsoft.Playwright.Assertions;

namespace Sessions.Ui.Tests;

/// <summary>
/// The web console in a real browser (Debian's chromium, driven by Playwright) against the real server process.
/// Screenshots go to the test output folder, under screenshots/.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private readonly TempDirectory folder = new();
    private ServerProcess server = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;

    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"The browser tests need Debian's chromium at {ChromiumPath}: sudo apt-get install chromium");
        server = await ServerProcess.StartAsync(folder.File("sessions.db"));

        // The other test projects run beside this one on a small CI machine; give the page room to answer.
        SetDefaultExpectTimeout(20_000);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
        await server.DisposeAsync();
        folder.Dispose();
    }

    [Fact]
    public async Task A_conversation_in_the_playground_is_found_in_the_runs_list_and_read_back()
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(server.Address, "/ui/#/play").ToString());

        await page.GetByTestId("play-workflow").SelectOptionAsync(new SelectOptionValue { Label = "Appointment booking" });
        await page.GetByTestId("play-start").ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Which service do you need?");

        // A choice is answered with its button.
        await page.GetByTestId("choice").Filter(new() { HasText = "Dental cleaning" }).ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Which day? (YYYY-MM-DD)");

        // A text reply is checked against its pattern before it is sent.
        await page.GetByTestId("reply").FillAsync("2026-13-01");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("reply-error")).ToContainTextAsync("Does not match");
        await page.GetByTestId("reply").FillAsync("2026-12-03");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Morning or afternoon?");

        await page.GetByTestId("choice").Filter(new() { HasText = "Afternoon" }).ClickAsync();
        await Expect(page.GetByTestId("play-state")).ToContainTextAsync("paused");
        await page.GetByTestId("resume").ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Shall we send a reminder the day before?");

        // A boolean is answered with yes or no.
        await page.GetByTestId("no").ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("No reminder will be sent.");
        await Expect(page.GetByTestId("play-state")).ToContainTextAsync("completed");
        await Expect(page.GetByTestId("live-events")).ToContainTextAsync("end_workflow");
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "playground.png"), FullPage = true });
        var runId = await page.GetByTestId("play-run-link").InnerTextAsync();

        // Find it in the runs list, filtered to its workflow and status.
        await page.GetByTestId("nav-runs").ClickAsync();
        var filters = page.GetByTestId("run-filters");
        await filters.Locator("select[name=workflow_id]").SelectOptionAsync(new SelectOptionValue { Label = "Appointment booking" });
        await filters.Locator("select[name=status]").SelectOptionAsync("completed");
        await filters.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(page.GetByTestId("run-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("status-counts")).ToContainTextAsync("completed");
        await Expect(page.GetByTestId("run-row")).ToContainTextAsync(runId);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "runs.png"), FullPage = true });

        // Open its transcript: every turn, what was said, and each turn's events on a timeline.
        await page.GetByRole(AriaRole.Link, new() { Name = runId }).ClickAsync();
        await Expect(page.GetByTestId("transcript-turn")).ToHaveCountAsync(6);
        var transcript = page.GetByTestId("transcript");
        await Expect(transcript).ToContainTextAsync("User: dental");
        await Expect(transcript).ToContainTextAsync("Good news: the clinic confirmed 2026-12-03 (afternoon).");
        await Expect(page.GetByTestId("timeline").First).ToContainTextAsync("start_workflow");

        // Under a turn, what the run knew after it and which variables the turn changed.
        await page.GetByTestId("turn-state").Nth(1).Locator("summary").ClickAsync();
        await Expect(page.GetByTestId("variable-changes").First).ToContainTextAsync("changed");
        await Expect(page.GetByTestId("turn-state").Nth(1)).ToContainTextAsync("waiting_for_user_input");

        // Replay it against its own version: no divergence.
        await page.GetByTestId("replay").ClickAsync();
        await Expect(page.GetByTestId("replay-report")).ToContainTextAsync("No divergence");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "run-transcript.png"), FullPage = true });
        Assert.True(new FileInfo(Path.Combine(ScreenshotFolder, "run-transcript.png")).Length > 10_000);

        // Fork it after turn 5 (waiting for the reminder answer): the fork opens, waiting at that question.
        await page.GetByTestId("fork").Nth(4).ClickAsync();
        await Expect(page.Locator("h1")).Not.ToContainTextAsync(runId);
        await Expect(page.Locator("h1 [data-testid=status]")).ToHaveTextAsync("waiting_for_user_input");
        await Expect(page.Locator("main")).ToContainTextAsync($"fork of {runId} at turn 5");
    }
}
