using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Api.Tests;

public sealed class TurnTests : IDisposable
{
    private const string Looping = """
        { "name": "Loops forever", "start": "bump", "variables": { "n": 0 },
          "nodes": [
            { "id": "bump", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "check" },
            { "id": "check", "type": "branch", "cases": [ { "when": { "var": "n", "op": "lt", "value": 0 }, "next": "done" } ], "default": "bump" },
            { "id": "done", "type": "end" } ] }
        """;

    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public TurnTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task Loop_guard_aborts_with_the_cycle_named_and_the_state_kept()
    {
        var created = await (await client.PostAsync("/v1/workflows", Http.Json(Looping))).ReadObjectAsync();
        Assert.Equal("loop_without_input", created["warnings"]!.AsArray().Single()!["code"]!.GetValue<string>());
        var workflow = created["workflow_id"]!.GetValue<string>();

        var answer = await client.StartAsync(workflow);
        var warning = answer["events"]![1]!;
        Assert.Equal(("workflow_warning", "loop_without_input", "$.nodes[0]"), (warning["type"]!.GetValue<string>(), warning["code"]!.GetValue<string>(), warning["path"]!.GetValue<string>()));
        Assert.Equal("aborted_looping_risk", answer["status"]!.GetValue<string>());
        Assert.True(answer["is_completed"]!.GetValue<bool>());
        var abort = answer["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "aborted_looping_risk")!;
        Assert.Equal("""["bump","check"]""", abort["cycle"]!.ToJsonString());
        Assert.Equal("bump", abort["node_id"]!.GetValue<string>());
        Assert.Contains("bump -> check -> bump", answer["error"]!.GetValue<string>());
        Assert.Equal(abort["error"]!.GetValue<string>(), answer["error"]!.GetValue<string>());

        var store = factory.Services.GetRequiredService<IRunStore>();
        var run = await store.GetAsync("default", answer["run_id"]!.GetValue<string>(), default);
        Assert.Equal(10, run!.Variables["n"]!.GetValue<int>());

        var again = await client.ExecuteAsync(workflow, new { run_id = run.Id, run_input = new { command = "resume" } });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Turns_racing_on_one_run_never_fork_it()
    {
        var start = await client.StartAsync(SessionsFactory.OrderStatus);
        var runId = start["run_id"]!.GetValue<string>();

        // Every reply is valid and not the right order, so each applied turn asks again: many can win, in sequence.
        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
            Task.Run(() => client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = $"{100000 + i}" } }))));

        var applied = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        var lost = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToList();
        foreach (var refused in lost)
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("turn_conflict", (await refused.ReadObjectAsync())["code"]!.GetValue<string>());
        }

        var store = factory.Services.GetRequiredService<IRunStore>();
        var run = await store.GetAsync("default", runId, default);
        Assert.Equal(1 + applied, run!.TurnNumber);
        var events = await store.GetEventsAsync("default", runId, 0, 10_000, default);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Seq));
        Assert.Equal(applied, events.Count(e => e.Type.ToWire() == "user_messages"));
        Assert.Equal(1 + applied, (await store.GetAllTurnsAsync("default", runId, default)).Count);
    }

    [Fact]
    public async Task Version_number_pins_the_first_turn_and_later_turns_keep_it()
    {
        var v1 = (await (await client.GetAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/versions/0")).ReadObjectAsync())["definition"]!.AsObject();
        v1["nodes"]![0]!["text"] = "Hello again, {{name}}!";
        var added = await client.PostAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/versions", Http.Json(v1.ToJsonString()));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);

        var latest = await client.StartAsync(SessionsFactory.OrderStatus, new { dynamic_variables = new { name = "Ada" } });
        Assert.Equal("Hello again, Ada!", Said(latest));

        var pinned = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_input = new { version_number = 1, dynamic_variables = new { name = "Ada" } } }, "?version_number=0");
        var pinnedAnswer = await pinned.ReadObjectAsync();
        Assert.Equal("Hi Ada!", Said(pinnedAnswer));
        Assert.Equal(0, pinnedAnswer["events"]![0]!["version_number"]!.GetValue<int>());

        var bodyPinned = await (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_input = new { version_number = 0 } })).ReadObjectAsync();
        Assert.Equal(0, bodyPinned["events"]![0]!["version_number"]!.GetValue<int>());

        // A later turn ignores version_number: the run stays on the version its first turn pinned.
        var later = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = pinnedAnswer["run_id"]!.GetValue<string>(), run_input = new { user_message = "123456" } }, "?version_number=1");
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        var store = factory.Services.GetRequiredService<IRunStore>();
        Assert.Equal(0, (await store.GetAsync("default", pinnedAnswer["run_id"]!.GetValue<string>(), default))!.VersionNumber);
    }

    [Fact]
    public async Task Dynamic_variables_merge_into_the_run_and_the_last_message_is_kept()
    {
        var start = await client.StartAsync(SessionsFactory.OrderStatus, new { dynamic_variables = new { name = "Ada" } });
        var runId = start["run_id"]!.GetValue<string>();
        var next = await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { user_message = "654321", dynamic_variables = new { name = "Grace", vip = true } } });
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var run = await factory.Services.GetRequiredService<IRunStore>().GetAsync("default", runId, default);
        Assert.Equal("Grace", run!.Variables["name"]!.GetValue<string>());
        Assert.True(run.Variables["vip"]!.GetValue<bool>());
        Assert.Equal("654321", run.Variables["last_user_message"]!.GetValue<string>());
        Assert.Equal(1, run.Variables["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task Stop_cancels_a_waiting_run_and_flushes_it_to_the_store()
    {
        var start = await client.StartAsync(SessionsFactory.OrderStatus);
        var runId = start["run_id"]!.GetValue<string>();
        var stopped = await (await client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = runId, run_input = new { command = "stop" } })).ReadObjectAsync();
        Assert.Equal("cancelled", stopped["status"]!.GetValue<string>());
        Assert.True(stopped["is_completed"]!.GetValue<bool>());
        Assert.False(stopped["is_waiting_for_input"]!.GetValue<bool>());
        Assert.Null(stopped["next_input_hint"]);
        var run = await factory.Services.GetRequiredService<IRunStore>().GetAsync("default", runId, default);
        Assert.Equal((RunStatus.Cancelled, "user_stop"), (run!.Status, run.TerminationSource?.ToWire()));
    }

    private static string Said(JsonObject answer) =>
        answer["events"]!.AsArray().First(e => e!["type"]!.GetValue<string>() == "say_static")!["text"]!.GetValue<string>();
}
