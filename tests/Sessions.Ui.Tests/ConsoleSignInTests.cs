using Microsoft.Playwright;
using Sessions.Testing;
using static Microsoft.Playwright.Assertions;

namespace Sessions.Ui.Tests;

/// <summary>
/// The console on a server that takes an identity provider's tokens (an OpenID Connect issuer on loopback): a pasted
/// token is taken as a key is, and an expired one is refused with the reason, shown on the page and when the console
/// asks again.
/// </summary>
public sealed class ConsoleSignInTests : IAsyncLifetime
{
    private const string AppointmentBooking = "66a1f0000000000000000003";

    private readonly TempDirectory folder = new();
    private readonly TestIssuer issuer = new();
    private ServerProcess server = null!;
    private Chromium chromium = null!;

    public async Task InitializeAsync()
    {
        server = await ServerProcess.StartAsync(folder.File("sessions.db"), [.. issuer.Settings().Select(s => $"--{s.Key}={s.Value}")]);
        chromium = await Chromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        await server.DisposeAsync();
        issuer.Dispose();
        folder.Dispose();
    }

    [Fact]
    public async Task A_pasted_token_signs_in_and_an_expired_one_is_refused_with_the_reason()
    {
        var expired = issuer.Token(
            new Dictionary<string, object> { ["tenant"] = "default", ["sub"] = "sam@support", ["role"] = "editor" },
            expires: DateTime.UtcNow.AddMinutes(-5),
            notBefore: DateTime.UtcNow.AddMinutes(-30));
        var valid = issuer.Token("default", "sam@support", "editor");
        var answers = new Queue<string>([expired, valid]);
        var asked = new List<string>();
        var page = await chromium.Browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            await dialog.AcceptAsync(answers.Dequeue());
        };

        await page.GotoAsync(new Uri(server.Address, $"/ui/#/workflows/{AppointmentBooking}").ToString());
        await Expect(page.GetByTestId("page-error")).ToContainTextAsync("The token expired at");

        // Asked again, the console says why the last one was refused; the valid token opens the page.
        await page.ReloadAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Appointment booking");
        Assert.Equal(2, asked.Count);
        Assert.Contains("API key or a sign-in token", asked[0], StringComparison.Ordinal);
        Assert.Contains("The token expired at", asked[1], StringComparison.Ordinal);
    }
}
