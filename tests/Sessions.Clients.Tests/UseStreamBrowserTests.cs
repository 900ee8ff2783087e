using Microsoft.Playwright;
using Sessions.Testing;
using static Microsoft.Playwright.Assertions;

namespace Sessions.Clients.Tests;

/// <summary>
/// A chat page built the way LangGraph frontends are (React 19 and the SDK's `useStream` hook, bundled by esbuild from
/// tests/clients/use-stream), served from an origin of its own, in Debian's chromium, chatting with a sample workflow
/// on the real server to its end. The server lets that origin in through Sessions:CorsOrigins.
/// </summary>
public sealed class UseStreamBrowserTests : IAsyncLifetime
{
    private const string AppointmentBooking = "66a1f0000000000000000003";

    private readonly TempDirectory bundle = new();
    private StaticSite site = null!;
    private ProtocolServer server = null!;
    private Chromium chromium = null!;

    public async Task InitializeAsync()
    {
        var (exitCode, output) = await ClientPackages.RunNodeAsync(new Dictionary<string, string>(), TimeSpan.FromMinutes(2), "use-stream/build.mjs", bundle.Path);
        Assert.True(exitCode == 0, $"esbuild could not bundle the page:\n{output}");
        site = new StaticSite(bundle.Path);
        server = await ProtocolServer.StartAsync(Store.Sqlite, $"--Sessions:CorsOrigins:0={site.Origin}");
        chromium = await Chromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        await server.DisposeAsync();
        site.Dispose();
        bundle.Dispose();
    }

    [Fact]
    public async Task A_use_stream_page_chats_with_a_workflow_to_its_end()
    {
        var page = await chromium.Browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        var failures = new List<string>();
        page.PageError += (_, error) => failures.Add(error);
        await page.GotoAsync($"{site.Origin}/index.html?api={Uri.EscapeDataString(server.Url)}&key={server.Key}&assistant={AppointmentBooking}");

        await page.GetByTestId("reply").FillAsync("Hello");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("Which service do you need?");
        await Expect(page.GetByTestId("message").First).ToContainTextAsync("You: Hello");
        await Expect(page.GetByTestId("message").Nth(1)).ToContainTextAsync("Bot: Let's book your appointment.");

        await page.GetByTestId("choice").Filter(new() { HasText = "Dental cleaning" }).ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("Which day? (YYYY-MM-DD)");

        // A reply that does not fit is the hook's error (the server's 422 and why), and the conversation stays where it was.
        await page.GetByTestId("reply").FillAsync("2026-13-01");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("error")).ToContainTextAsync("invalid_reply");
        await page.GetByTestId("reply").FillAsync("2026-12-03");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("Morning or afternoon?");

        await page.GetByTestId("choice").Filter(new() { HasText = "Afternoon" }).ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("I've asked the clinic to hold a dental appointment on 2026-12-03 (afternoon).");
        await page.GetByTestId("resume").ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("Shall we send a reminder the day before?");

        await page.GetByTestId("no").ClickAsync();
        await Expect(page.GetByTestId("messages")).ToContainTextAsync("No reminder will be sent.");
        await Expect(page.GetByTestId("state")).ToHaveTextAsync("done");
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "screenshots", "use-stream-chat.png"), FullPage = true });

        // The same run as any other: finished, with the person's replies in its history.
        var threadId = await page.GetByTestId("thread").TextContentAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/runs/{threadId}");
        request.Headers.Authorization = new("Bearer", server.Key);
        var run = System.Text.Json.Nodes.JsonNode.Parse(await (await server.Process.Client.SendAsync(request)).Content.ReadAsStringAsync())!;
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("dental", run["variables"]!["service"]!.GetValue<string>());
        Assert.Empty(failures);
    }
}
