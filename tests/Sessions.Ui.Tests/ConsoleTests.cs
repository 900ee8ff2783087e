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
    private const string AppointmentBooking = "66a1f0000000000000000003";

    private readonly TempDirectory folder = new();
    private ServerProcess server = null!;
    private Chromium chromium = null!;

    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        server = await ServerProcess.StartAsync(folder.File("sessions.db"));
        chromium = await Chromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        await server.DisposeAsync();
        folder.Dispose();
    }

    [Fact]
    public async Task A_conversation_in_the_playground_is_found_in_the_runs_list_and_read_back()
    {
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(server.Address, "/ui/#/play").ToString());

        await page.GetByTestId("play-workflow").SelectOptionAsync(new SelectOptionValue { Value = AppointmentBooking });
        await page.GetByTestId("play-start").ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Which service do you need?");

        // A choice is answered with its button.
        await page.GetByTestId("choice").Filter(new() { HasText = "Dental cleaning" }).ClickAsync();
        await Expect(page.GetByTestId("chat")).ToContainTextAsync("Which day? (YYYY-MM-DD)");

        // A text reply is checked against its pattern before it is sent.
        await page.GetByTestId("reply").FillAsync("2026-13-01");
        await page.GetByTestId("send").ClickAsync();
        await Expect(page.GetByTestId("reply-error")).ToContainTextAsync("not in the expected form");
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
        await filters.Locator("select[name=workflow_id]").SelectOptionAsync(new SelectOptionValue { Value = AppointmentBooking });
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
        await Expect(transcript).ToContainTextAsync("User: Dental cleaning");
        await Expect(transcript).ToContainTextAsync("Good news: the clinic confirmed 2026-12-03 (afternoon).");
        await Expect(page.GetByTestId("timeline").First).ToContainTextAsync("start_workflow");

        // The workflow's diagram, drawn by the server, with the run's path marked.
        var diagram = page.GetByTestId("diagram");
        await Expect(diagram.Locator("svg g[data-node-id]").First).ToBeVisibleAsync();
        Assert.True(await diagram.Locator("svg g.visited").CountAsync() >= 3);

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

        // The fork says where it stands and what it waits on, and offers no replay (a fork cannot be replayed).
        await Expect(page.GetByTestId("run-summary")).ToContainTextAsync("1 turn, at turn 0");
        await Expect(page.GetByTestId("waiting-prompt")).ToHaveTextAsync("Shall we send a reminder the day before?");
        await Expect(page.GetByTestId("replay")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_workflow_page_shows_its_versions_and_diagrams_and_a_deleted_workflows_runs_still_open()
    {
        var upload = await server.Client.PostAsync("/v1/workflows", new StringContent("""
            { "name": "Two steps", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """, System.Text.Encoding.UTF8, "application/json"));
        var workflowId = System.Text.Json.Nodes.JsonNode.Parse(await upload.Content.ReadAsStringAsync())!["workflow_id"]!.GetValue<string>();
        var started = await server.Client.PostAsync($"/v1/workflows/{workflowId}/execute", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var runId = System.Text.Json.Nodes.JsonNode.Parse(await started.Content.ReadAsStringAsync())!["run_id"]!.GetValue<string>();

        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(server.Address, $"/ui/#/runs/{runId}").ToString());
        await page.GetByTestId("workflow-link").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Two steps");
        await Expect(page.GetByTestId("version-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("diagram").Locator("svg g[data-node-id]")).ToHaveCountAsync(2);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "console-workflow.png"), FullPage = true });
        await page.GetByTestId("workflow-runs").ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"workflow_id={workflowId}"));

        // Deleted, the workflow is no longer read back; its run still is, transcript and diagram.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/workflows/{workflowId}")).StatusCode);
        await page.GotoAsync(new Uri(server.Address, $"/ui/#/runs/{runId}").ToString());
        await Expect(page.GetByTestId("transcript")).ToContainTextAsync("Name?");
        await Expect(page.GetByTestId("diagram").Locator("svg g[data-node-id]")).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task An_evaluation_started_on_a_workflow_page_shows_which_conversations_a_version_changes_and_each_beside_its_replay()
    {
        const string greeter = """
            { "name": "Greeter", "start": "ask_mood", "nodes": [
              { "id": "ask_mood", "type": "ask", "prompt": "How are you?", "variable": "mood",
                "input": { "kind": "choice", "options": [ { "value": "good", "label": "Good" }, { "value": "bad", "label": "Bad" } ] }, "next": "route" },
              { "id": "route", "type": "branch", "cases": [ { "when": { "var": "mood", "op": "eq", "value": "good" }, "next": "glad" } ], "default": "sorry" },
              { "id": "glad", "type": "say", "text": "Glad to hear it.", "next": "done" },
              { "id": "sorry", "type": "say", "text": "Sorry to hear that.", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """;
        static StringContent Json(string text) => new(text, System.Text.Encoding.UTF8, "application/json");
        var upload = await server.Client.PostAsync("/v1/workflows", Json(greeter));
        var workflowId = System.Text.Json.Nodes.JsonNode.Parse(await upload.Content.ReadAsStringAsync())!["workflow_id"]!.GetValue<string>();
        foreach (var mood in new[] { "good", "bad", "good", "bad", "good" })
        {
            var started = await server.Client.PostAsync($"/v1/workflows/{workflowId}/execute", Json("{}"));
            var runId = System.Text.Json.Nodes.JsonNode.Parse(await started.Content.ReadAsStringAsync())!["run_id"]!.GetValue<string>();
            var replied = await server.Client.PostAsync($"/v1/workflows/{workflowId}/execute", Json($$"""{"run_id":"{{runId}}","run_input":{"user_message":"{{mood}}"} }"""));
            Assert.True(replied.IsSuccessStatusCode);
        }

        var added = await server.Client.PostAsync($"/v1/workflows/{workflowId}/versions?activate=false", Json(greeter.Replace("Sorry to hear that.", "That is a shame.")));
        Assert.Equal(System.Net.HttpStatusCode.Created, added.StatusCode);

        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(server.Address, $"/ui/#/workflows/{workflowId}?version=1").ToString());
        await page.GetByTestId("evaluate").ClickAsync();
        await Expect(page.GetByTestId("evaluation-summary")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("outcome-unchanged")).ToHaveTextAsync("unchanged: 3");
        await Expect(page.GetByTestId("outcome-diverged")).ToHaveTextAsync("diverged: 2");
        await Expect(page.GetByTestId("evaluation-summary")).ToContainTextAsync("40 % of 5 replayed runs changed on version 1");
        await Expect(page.GetByTestId("difference-group")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("difference-group")).ToContainTextAsync("said");
        await Expect(page.GetByTestId("evaluation-result")).ToHaveCountAsync(5);
        await Expect(page.GetByTestId("evaluation-row")).ToHaveCountAsync(1);
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "console-evaluation.png"), FullPage = true });

        await page.GetByTestId("evaluation-result").Filter(new() { HasText = "diverged" }).First.GetByTestId("side-by-side").ClickAsync();
        await Expect(page.GetByTestId("compare-source")).ToContainTextAsync(["How are you?", "Sorry to hear that."]);
        await Expect(page.GetByTestId("compare-replay")).ToContainTextAsync(["How are you?", "That is a shame."]);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "console-side-by-side.png"), FullPage = true });
    }

    [Fact]
    public async Task A_definition_is_checked_as_it_is_typed_and_uploads_only_without_errors()
    {
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(server.Address, "/ui/#/runs").ToString());
        await page.GetByTestId("nav-workflows").ClickAsync();
        await Expect(page.GetByTestId("workflow-row")).ToHaveCountAsync(4);

        // Not JSON yet, then JSON with a misspelled field (a warning) and so a missing one (an error): nothing uploads.
        var definition = page.GetByTestId("definition");
        await definition.FillAsync("{ \"name\": ");
        await Expect(page.GetByTestId("definition-verdict")).ToContainTextAsync("Not JSON");
        await definition.FillAsync("""
            { "name": "Typed in the console", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "promt": "Your name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        await Expect(page.GetByTestId("definition-error")).ToContainTextAsync("$.nodes[0].prompt missing_field");
        await Expect(page.GetByTestId("definition-warning")).ToContainTextAsync("$.nodes[0].promt ignored_field");
        await Expect(page.GetByTestId("upload")).ToBeDisabledAsync();
        var before = (await server.Client.GetStringAsync("/v1/workflows")).Contains("Typed in the console", StringComparison.Ordinal);
        Assert.False(before);

        await definition.FillAsync("""
            { "name": "Typed in the console", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Your name?", "variable": "name", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """);
        await Expect(page.GetByTestId("definition-verdict")).ToContainTextAsync("Ready to upload");
        await Expect(page.GetByTestId("definition-error")).ToHaveCountAsync(0);
        await page.GetByTestId("upload").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Typed in the console");
        await Expect(page.GetByTestId("version-row")).ToHaveCountAsync(1);
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "uploaded.png"), FullPage = true });
    }

    [Fact]
    public async Task A_run_is_answered_resumed_stopped_and_cancelled_from_its_page()
    {
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.SetDefaultTimeout(30_000);
        using var http = new HttpClient { BaseAddress = server.Address };
        async Task<string> StartAsync()
        {
            var response = await http.PostAsync($"/v1/workflows/{AppointmentBooking}/execute", new StringContent("""{"run_input":{"run_by":"ada"}}""", System.Text.Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("run_id").GetString()!;
        }

        // Answer the questions the run waits on, with the controls its hints call for.
        var answered = await StartAsync();
        await page.GotoAsync(new Uri(server.Address, $"/ui/#/runs/{answered}").ToString());
        await Expect(page.GetByTestId("waiting-prompt")).ToHaveTextAsync("Which service do you need?");
        await Expect(page.GetByTestId("run-actions")).ToContainTextAsync("one of: General check-up, Dental cleaning");
        await page.GetByTestId("choice").Filter(new() { HasText = "Dental cleaning" }).ClickAsync();
        await Expect(page.GetByTestId("waiting-prompt")).ToHaveTextAsync("Which day? (YYYY-MM-DD)");
        await page.GetByTestId("reply").FillAsync("2026-12-03");
        await page.GetByTestId("send").ClickAsync();
        await page.GetByTestId("choice").Filter(new() { HasText = "Afternoon" }).ClickAsync();

        // Paused by the workflow: resume it, then stop it.
        await Expect(page.Locator("h1 [data-testid=status]")).ToHaveTextAsync("paused");
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, "run-actions.png"), FullPage = true });
        await page.GetByTestId("run-resume").ClickAsync();
        await Expect(page.GetByTestId("waiting-prompt")).ToHaveTextAsync("Shall we send a reminder the day before?");
        await page.GetByTestId("run-stop").ClickAsync();
        await Expect(page.Locator("h1 [data-testid=status]")).ToHaveTextAsync("cancelled");
        await Expect(page.GetByTestId("run-actions")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("transcript")).ToContainTextAsync("User: Dental cleaning");

        // Cancel another with a reason, which the transcript keeps.
        var cancelled = await StartAsync();
        await page.GotoAsync(new Uri(server.Address, $"/ui/#/runs/{cancelled}").ToString());
        await page.GetByTestId("cancel-reason").FillAsync("customer left the chat");
        await page.GetByTestId("run-cancel").ClickAsync();
        await Expect(page.Locator("h1 [data-testid=status]")).ToHaveTextAsync("cancelled");
        await Expect(page.GetByTestId("transcript")).ToContainTextAsync("customer left the chat");

        // A link to a run that is not there shows only that, not the previous run with an error under it.
        await page.GotoAsync(new Uri(server.Address, "/ui/#/runs/66a1f00000000000000000ff").ToString());
        await Expect(page.GetByTestId("page-error")).ToBeVisibleAsync();
        await Expect(page.Locator("h1")).ToHaveCountAsync(0);
    }
}
