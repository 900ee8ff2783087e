using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

/// <summary>
/// Version evaluations: a workflow's real runs replayed with recorded calls on a new version in the background, summed
/// up by outcome, first divergent turn and grouped differences; and the activation gate that holds a version back
/// until such an evaluation passes.
/// </summary>
public abstract class EvaluationTests(StoreUnderTest store) : IAsyncLifetime
{
    private const string Greeter = """
        { "name": "Greeter", "start": "ask_name", "nodes": [
          { "id": "ask_name", "type": "ask", "prompt": "Your name?", "variable": "name", "next": "hello" },
          { "id": "hello", "type": "say", "text": "Hello {{name}}.", "next": "ask_mood" },
          { "id": "ask_mood", "type": "ask", "prompt": "How are you?", "variable": "mood",
            "input": { "kind": "choice", "options": [ { "value": "good", "label": "Good" }, { "value": "bad", "label": "Bad" } ] }, "next": "route" },
          { "id": "route", "type": "branch", "cases": [ { "when": { "var": "mood", "op": "eq", "value": "good" }, "next": "glad" } ], "default": "sorry" },
          { "id": "glad", "type": "say", "text": "Glad to hear it.", "next": "done" },
          { "id": "sorry", "type": "say", "text": "Sorry to hear that.", "next": "done" },
          { "id": "done", "type": "end" } ] }
        """;

    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        factory = new SessionsFactory(null, await store.SettingsAsync());
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task An_evaluation_replays_real_runs_on_a_version_and_says_which_conversations_it_changes_and_where()
    {
        var (workflow, runs) = await GreeterWithRunsAsync(good: 6, bad: 4);
        var changed = await AddVersionAsync(workflow, Greeter.Replace("Sorry to hear that.", "That is a shame."));

        var created = await client.PostAsync($"/v1/workflows/{workflow}/versions/{changed}/evaluations", Http.Json("{}"));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var accepted = await created.ReadObjectAsync();
        var id = accepted["evaluation_id"]!.GetValue<string>();
        Assert.Equal($"/v1/workflows/{workflow}/versions/{changed}/evaluations/{id}", created.Headers.Location!.ToString());
        Assert.Equal((10, "running"), (accepted["progress"]!["total"]!.GetValue<int>(), accepted["status"]!.GetValue<string>()));

        var done = await FinishedAsync(workflow, changed, id);
        var summary = done["summary"]!;
        Assert.Equal((6, 4, 0, 0, 0), Counts(summary));
        Assert.Equal((10, 40.0), (summary["replayed"]!.GetValue<int>(), summary["diverged_percent"]!.GetValue<double>()));
        Assert.Equal("""[{"turn":3,"runs":4}]""", summary["first_divergent_turns"]!.ToJsonString());
        var group = summary["differences"]![0]!;
        Assert.Equal(("said", 4), (group["field"]!.GetValue<string>(), group["runs"]!.GetValue<int>()));
        Assert.Contains(group["example_run_id"]!.GetValue<string>(), runs.Bad);

        // Every source run is there once, with a replay run to open beside it.
        var results = done["results"]!.AsArray();
        Assert.Equal(runs.Good.Concat(runs.Bad).Order(), results.Select(r => r!["source_run_id"]!.GetValue<string>()).Order());
        foreach (var result in results)
        {
            var bad = runs.Bad.Contains(result!["source_run_id"]!.GetValue<string>());
            Assert.Equal((bad ? "diverged" : "unchanged", bad ? 3 : (int?)null), (result["outcome"]!.GetValue<string>(), result["first_divergent_turn"]?.GetValue<int>()));
            var replay = await (await client.GetAsync($"/v1/runs/{result["replay_run_id"]!.GetValue<string>()}")).ReadObjectAsync();
            Assert.Equal(("replay", changed), (replay["origin"]!.GetValue<string>(), replay["version_number"]!.GetValue<int>()));
        }

        // Results page by index; forks and replays (the evaluation's own) are never chosen again.
        var first = await (await client.GetAsync($"/v1/workflows/{workflow}/versions/{changed}/evaluations/{id}?limit=4")).ReadObjectAsync();
        Assert.Equal((4, 3), (first["results"]!.AsArray().Count, first["next_after"]!.GetValue<int>()));
        var rest = await (await client.GetAsync($"/v1/workflows/{workflow}/versions/{changed}/evaluations/{id}?after=3&limit=100")).ReadObjectAsync();
        Assert.Equal(6, rest["results"]!.AsArray().Count);
        Assert.Null(rest["next_after"]);
        var again = await (await client.PostAsync($"/v1/workflows/{workflow}/versions/{changed}/evaluations", Http.Json("""{"limit":1000}"""))).ReadObjectAsync();
        Assert.Equal(10, again["progress"]!["total"]!.GetValue<int>());

        var listed = await (await client.GetAsync($"/v1/workflows/{workflow}/evaluations")).ReadObjectAsync();
        Assert.Equal([again["evaluation_id"]!.GetValue<string>(), id], listed["items"]!.AsArray().Select(e => e!["evaluation_id"]!.GetValue<string>()));
    }

    [ServerFact]
    public async Task The_run_filters_limit_and_sample_choose_the_runs()
    {
        var (workflow, runs) = await GreeterWithRunsAsync(good: 5, bad: 3);
        var same = await AddVersionAsync(workflow, Greeter);

        var newest = await FinishedAsync(workflow, same, await CreateAsync(workflow, same, """{"limit":2}"""));
        Assert.Equal(runs.Bad.TakeLast(2).Order(), newest["results"]!.AsArray().Select(r => r!["source_run_id"]!.GetValue<string>()).Order());
        Assert.Equal((2, 0, 0, 0, 0), Counts(newest["summary"]!));

        var sampled = await FinishedAsync(workflow, same, await CreateAsync(workflow, same, """{"limit":3,"sample":true}"""));
        Assert.Equal(3, sampled["results"]!.AsArray().Count);
        Assert.Equal("""{"runs":{},"limit":3,"sample":true}""", sampled["selection"]!.ToJsonString());

        var labelled = await client.StartAsync(workflow, new { metadata = new { tier = "gold" } });
        var gold = await FinishedAsync(workflow, same, await CreateAsync(workflow, same, """{"runs":{"metadata.tier":"gold","status":["waiting_for_user_input"]}}"""));
        Assert.Equal(labelled["run_id"]!.GetValue<string>(), Assert.Single(gold["results"]!.AsArray())!["source_run_id"]!.GetValue<string>());
    }

    [ServerTheory]
    [InlineData("""{"limit":0}""", "$.limit", "not 0")]
    [InlineData("""{"limit":1001}""", "$.limit", "not 1001")]
    [InlineData("""{"runs":{"colour":"red"}}""", "$.runs.colour", "colour")]
    [InlineData("""{"runs":{"status":"sleeping"}}""", null, "sleeping")]
    [InlineData("""{"max_concurrency":65}""", "$.max_concurrency", "not 65")]
    public async Task A_bad_selection_is_refused_naming_what_was_wrong_and_starts_nothing(string body, string? path, string named)
    {
        var (workflow, _) = await GreeterWithRunsAsync(good: 1, bad: 0);
        var response = await client.PostAsync($"/v1/workflows/{workflow}/versions/0/evaluations", Http.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadObjectAsync();
        Assert.Contains(named, problem.ToJsonString());
        if (path is not null)
        {
            Assert.Equal(path, problem["errors"]![0]!["path"]!.GetValue<string>());
        }

        Assert.Empty((await (await client.GetAsync($"/v1/workflows/{workflow}/evaluations")).ReadObjectAsync())["items"]!.AsArray());
    }

    [ServerFact]
    public async Task Unknown_evaluations_and_selections_that_match_nothing_are_named()
    {
        var (workflow, _) = await GreeterWithRunsAsync(good: 1, bad: 0);
        var missing = await client.GetAsync($"/v1/workflows/{workflow}/versions/0/evaluations/66a1f00000000000000000ff");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("evaluation_not_found", (await missing.ReadObjectAsync())["code"]!.GetValue<string>());

        var none = await client.PostAsync($"/v1/workflows/{workflow}/versions/0/evaluations", Http.Json("""{"runs":{"run_by":"nobody"}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, none.StatusCode);

        var noVersion = await client.PostAsync($"/v1/workflows/{workflow}/versions/7/evaluations", Http.Json("{}"));
        Assert.Equal((HttpStatusCode.NotFound, "version_not_found"), (noVersion.StatusCode, (await noVersion.ReadObjectAsync())["code"]!.GetValue<string>()));
    }

    [ServerFact]
    public async Task A_gated_workflow_activates_a_version_only_with_a_passing_evaluation_unless_an_admin_forces_it()
    {
        var gated = Greeter.Replace("\"name\": \"Greeter\",", "\"name\": \"Greeter\", \"evaluation_gate\": { \"max_diverged_percent\": 25 },");
        var (workflow, _) = await GreeterWithRunsAsync(good: 6, bad: 4, gated);

        // Uploaded to be active at once: refused before anything is stored.
        var upload = await client.PostAsync($"/v1/workflows/{workflow}/versions", Http.Json(gated.Replace("Sorry to hear that.", "That is a shame.")));
        Assert.Equal(HttpStatusCode.Conflict, upload.StatusCode);
        Assert.Equal("evaluation_required", (await upload.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(0, (await Workflow(workflow))["latest_version"]!.GetValue<int>());

        var changed = await AddVersionAsync(workflow, gated.Replace("Sorry to hear that.", "That is a shame."));
        var unevaluated = await Activate(workflow, changed);
        Assert.Equal(HttpStatusCode.Conflict, unevaluated.StatusCode);
        var missing = await unevaluated.ReadObjectAsync();
        Assert.Equal(("evaluation_required", 25.0), (missing["code"]!.GetValue<string>(), missing["max_diverged_percent"]!.GetValue<double>()));

        var id = await CreateAsync(workflow, changed, "{}");
        await FinishedAsync(workflow, changed, id);
        var failing = await Activate(workflow, changed);
        Assert.Equal(HttpStatusCode.Conflict, failing.StatusCode);
        var problem = await failing.ReadObjectAsync();
        Assert.Equal((id, 40.0), (problem["evaluation_id"]!.GetValue<string>(), problem["diverged_percent"]!.GetValue<double>()));
        Assert.Equal(0, (await Workflow(workflow))["active_version"]!.GetValue<int>());

        // A version that changes nothing passes; so does a forced one, which the workflow keeps.
        var same = await AddVersionAsync(workflow, gated);
        await FinishedAsync(workflow, same, await CreateAsync(workflow, same, "{}"));
        Assert.Equal(HttpStatusCode.OK, (await Activate(workflow, same)).StatusCode);

        var forced = await Activate(workflow, changed, "?force=true");
        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        var record = Assert.Single((await forced.ReadObjectAsync())["forced_activations"]!.AsArray())!;
        Assert.Equal(changed, record["version_number"]!.GetValue<int>());
        Assert.Contains("changed 40 %", record["refusal"]!.GetValue<string>());
        Assert.Equal(changed, (await Workflow(workflow))["active_version"]!.GetValue<int>());
    }

    private async Task<(string Workflow, (List<string> Good, List<string> Bad) Runs)> GreeterWithRunsAsync(int good, int bad, string definition = Greeter)
    {
        var workflow = await client.UploadAsync(definition);
        var runs = (Good: new List<string>(), Bad: new List<string>());
        for (var i = 0; i < good + bad; i++)
        {
            var runId = (await client.StartAsync(workflow))["run_id"]!.GetValue<string>();
            await client.ReplyAsync(workflow, runId, $"Person {i}");
            var mood = i < good ? "good" : "bad";
            Assert.Equal("completed", (await client.ReplyAsync(workflow, runId, mood))["status"]!.GetValue<string>());
            (i < good ? runs.Good : runs.Bad).Add(runId);
        }

        return (workflow, runs);
    }

    private async Task<int> AddVersionAsync(string workflowId, string definition)
    {
        var response = await client.PostAsync($"/v1/workflows/{workflowId}/versions?activate=false", Http.Json(definition));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["version_number"]!.GetValue<int>();
    }

    private async Task<string> CreateAsync(string workflow, int version, string body)
    {
        var response = await client.PostAsync($"/v1/workflows/{workflow}/versions/{version}/evaluations", Http.Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.ReadObjectAsync())["evaluation_id"]!.GetValue<string>();
    }

    private async Task<JsonObject> FinishedAsync(string workflow, int version, string id)
    {
        JsonObject read = [];
        await Eventually.TrueAsync(async () =>
        {
            read = await (await client.GetAsync($"/v1/workflows/{workflow}/versions/{version}/evaluations/{id}")).ReadObjectAsync();
            return read["status"]!.GetValue<string>() == "completed";
        }, $"evaluation {id} finished", timeoutSeconds: 60);
        return read;
    }

    private Task<HttpResponseMessage> Activate(string workflow, int version, string query = "") =>
        client.PostAsync($"/v1/workflows/{workflow}/versions/{version}/activate{query}", null);

    private async Task<JsonObject> Workflow(string workflow) => await (await client.GetAsync($"/v1/workflows/{workflow}")).ReadObjectAsync();

    private static (int, int, int, int, int) Counts(JsonNode summary)
    {
        var counts = summary["counts"]!;
        return (counts["unchanged"]!.GetValue<int>(), counts["diverged"]!.GetValue<int>(), counts["refused"]!.GetValue<int>(), counts["stopped"]!.GetValue<int>(), counts["failed"]!.GetValue<int>());
    }
}

public sealed class SqliteEvaluationTests() : EvaluationTests(new SqliteStoreUnderTest());

public sealed class PostgresEvaluationTests() : EvaluationTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoEvaluationTests() : EvaluationTests(new MongoStoreUnderTest());
