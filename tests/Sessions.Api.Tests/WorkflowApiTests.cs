using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

public sealed class WorkflowApiTests : IDisposable
{
    private const string Greeter = """
        { "name": "Greeter", "description": "Says hello", "start": "hi",
          "nodes": [ { "id": "hi", "type": "say", "text": "Hello {{who}}", "next": "bye" }, { "id": "bye", "type": "end" },
                     { "id": "spare", "type": "end" } ] }
        """;

    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public WorkflowApiTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task Creating_a_workflow_answers_201_with_its_version_0_and_warnings()
    {
        var response = await client.PostAsync("/v1/workflows", Http.Json(Greeter));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadObjectAsync();
        var id = body["workflow_id"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{24}$", id);
        Assert.Equal($"/v1/workflows/{id}", response.Headers.Location!.ToString());
        Assert.Equal(("Greeter", 0, 0), (body["name"]!.GetValue<string>(), body["version_number"]!.GetValue<int>(), body["active_version"]!.GetValue<int>()));
        var warning = body["warnings"]!.AsArray().Single()!;
        Assert.Equal(("$.nodes[2]", "unreachable_node"), (warning["path"]!.GetValue<string>(), warning["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_invalid_definition_is_422_naming_every_problem_and_nothing_is_stored()
    {
        var before = (await (await client.GetAsync("/v1/workflows")).ReadObjectAsync())["total"]!.GetValue<int>();
        var response = await client.PostAsync("/v1/workflows", Http.Json("""
            { "name": "Broken", "start": "a", "nodes": [ { "id": "a", "type": "say", "text": "x", "next": "b" }, { "id": "a", "type": "shout" } ] }
            """));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.ReadObjectAsync();
        Assert.Equal("invalid_definition", problem["code"]!.GetValue<string>());
        var errors = problem["errors"]!.AsArray().Select(e => $"{e!["path"]} {e["code"]}").ToList();
        Assert.Equal(["$.nodes[1].id duplicate_node_id", "$.nodes[1].type unknown_node_type", "$.nodes[0].next dangling_next"], errors);
        Assert.Equal(before, (await (await client.GetAsync("/v1/workflows")).ReadObjectAsync())["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Versions_are_added_active_by_default_or_kept_inactive()
    {
        var id = (await (await client.PostAsync("/v1/workflows", Http.Json(Greeter))).ReadObjectAsync())["workflow_id"]!.GetValue<string>();

        var v1 = await client.PostAsync($"/v1/workflows/{id}/versions", Http.Json(Greeter.Replace("Hello", "Hi")));
        Assert.Equal(HttpStatusCode.Created, v1.StatusCode);
        Assert.Equal("""{"workflow_id":"ID","version_number":1,"active_version":1}""".Replace("ID", id), Without((await v1.ReadObjectAsync()), "warnings"));

        var v2 = await client.PostAsync($"/v1/workflows/{id}/versions?activate=false", Http.Json(Greeter.Replace("Hello", "Hey")));
        Assert.Equal("""{"workflow_id":"ID","version_number":2,"active_version":1}""".Replace("ID", id), Without((await v2.ReadObjectAsync()), "warnings"));
        Assert.Equal($"/v1/workflows/{id}/versions/2", v2.Headers.Location!.ToString());

        var workflow = await (await client.GetAsync($"/v1/workflows/{id}")).ReadObjectAsync();
        Assert.Equal((1, 2), (workflow["active_version"]!.GetValue<int>(), workflow["latest_version"]!.GetValue<int>()));
        Assert.Equal([false, true, false], workflow["versions"]!.AsArray().Select(v => v!["is_active"]!.GetValue<bool>()));

        var version = await (await client.GetAsync($"/v1/workflows/{id}/versions/2")).ReadObjectAsync();
        Assert.False(version["is_active"]!.GetValue<bool>());
        Assert.Equal("Hey {{who}}", version["definition"]!["nodes"]![0]!["text"]!.GetValue<string>());

        var run = await client.StartAsync(id, new { dynamic_variables = new { who = "Ada" } });
        Assert.Equal("Hi Ada", run["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "say_static")!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Any_stored_version_can_be_activated_to_roll_forward_or_back_and_runs_keep_the_version_they_pinned()
    {
        var id = (await (await client.PostAsync("/v1/workflows", Http.Json(Greeter))).ReadObjectAsync())["workflow_id"]!.GetValue<string>();
        var pinned = (await client.StartAsync(id, new { dynamic_variables = new { who = "Ada" } }))["run_id"]!.GetValue<string>();
        var renamed = Greeter.Replace("Hello", "Hey").Replace("\"Greeter\"", "\"Greeter 2\"").Replace("Says hello", "Says hey");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/v1/workflows/{id}/versions?activate=false", Http.Json(renamed))).StatusCode);

        var activated = await client.PostAsync($"/v1/workflows/{id}/versions/1/activate", null);
        Assert.Equal(HttpStatusCode.OK, activated.StatusCode);
        var workflow = await activated.ReadObjectAsync();
        Assert.Equal((1, 1, "Greeter 2", "Says hey"), (workflow["active_version"]!.GetValue<int>(), workflow["latest_version"]!.GetValue<int>(), workflow["name"]!.GetValue<string>(), workflow["description"]!.GetValue<string>()));
        Assert.Equal([false, true], workflow["versions"]!.AsArray().Select(v => v!["is_active"]!.GetValue<bool>()));
        var fresh = await client.StartAsync(id, new { dynamic_variables = new { who = "Bo" } });
        Assert.Contains(fresh["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Hey Bo");

        // Back to version 0: new runs use it again; the workflow takes its name back.
        var rolledBack = await (await client.PostAsync($"/v1/workflows/{id}/versions/0/activate", null)).ReadObjectAsync();
        Assert.Equal((0, "Greeter"), (rolledBack["active_version"]!.GetValue<int>(), rolledBack["name"]!.GetValue<string>()));
        var again = await client.StartAsync(id, new { dynamic_variables = new { who = "Cy" } });
        Assert.Contains(again["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == "Hello Cy");
        Assert.Equal(0, (await (await client.GetAsync($"/v1/runs/{pinned}")).ReadObjectAsync())["version_number"]!.GetValue<int>());

        var missing = await client.PostAsync($"/v1/workflows/{id}/versions/7/activate", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("version_not_found", (await missing.ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal("workflow_not_found", (await (await client.PostAsync("/v1/workflows/66a1f00000000000000000ff/versions/0/activate", null)).ReadObjectAsync())["code"]!.GetValue<string>());
        Assert.Equal(0, (await (await client.GetAsync($"/v1/workflows/{id}")).ReadObjectAsync())["active_version"]!.GetValue<int>());
    }

    [Fact]
    public async Task Workflows_list_newest_first_with_paging()
    {
        for (var i = 0; i < 3; i++)
        {
            await client.PostAsync("/v1/workflows", Http.Json(Greeter.Replace("Greeter", $"Greeter {i}")));
        }

        var page = await (await client.GetAsync("/v1/workflows?page=1&limit=2")).ReadObjectAsync();
        Assert.Equal(7, page["total"]!.GetValue<int>());
        Assert.Equal((1, 2), (page["page"]!.GetValue<int>(), page["limit"]!.GetValue<int>()));
        Assert.Equal(2, page["items"]!.AsArray().Count);
        var everything = await (await client.GetAsync("/v1/workflows?limit=100")).ReadObjectAsync();
        var names = everything["items"]!.AsArray().Select(w => w!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(7, names.Count);
        Assert.True(names.IndexOf("Greeter 2") < names.IndexOf("Greeter 0"));
        Assert.Empty((await (await client.GetAsync("/v1/workflows?page=9&limit=100")).ReadObjectAsync())["items"]!.AsArray());
    }

    [Theory]
    [InlineData("GET", "/v1/workflows/abc", 400, "malformed_id")]
    [InlineData("GET", "/v1/workflows/66a1f00000000000000000ff", 404, "workflow_not_found")]
    [InlineData("GET", "/v1/workflows/66a1f0000000000000000001/versions/9", 404, "version_not_found")]
    [InlineData("GET", "/v1/workflows/66a1f0000000000000000001/versions/-1", 400, "invalid_version_number")]
    [InlineData("GET", "/v1/workflows?limit=101", 400, "invalid_paging")]
    [InlineData("GET", "/v1/workflows?page=0", 400, "invalid_paging")]
    [InlineData("POST", "/v1/workflows/66a1f00000000000000000ff/versions", 404, "workflow_not_found")]
    [InlineData("POST", "/v1/workflows/66a1f0000000000000000001/versions?activate=maybe", 400, "invalid_request")]
    [InlineData("GET", "/v1/nothing-here", 404, "route_not_found")]
    [InlineData("DELETE", "/v1/workflows", 405, "method_not_allowed")]
    public async Task Workflow_lookups_answer_problem_details(string method, string path, int status, string code)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = Http.Json(Greeter);
        }

        var response = await client.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_of_a_media_type_an_endpoint_does_not_take_is_a_415_naming_those_it_takes()
    {
        var form = await client.PostAsync($"/v1/workflows/{SessionsFactory.OrderStatus}/execute", new StringContent("user_message=1", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        var problem = await form.ReadObjectAsync();
        Assert.Equal("unsupported_media_type", problem["code"]!.GetValue<string>());
        Assert.Equal(["application/json", "multipart/form-data"], problem["accepted_media_types"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Contains("takes a body sent as application/json or multipart/form-data; this one was sent as 'application/x-www-form-urlencoded", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var text = await client.PostAsync("/v1/runs/cancel", new StringContent("{}", System.Text.Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Equal(["application/json"], (await text.ReadObjectAsync())["accepted_media_types"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task Health_and_alive_answer()
    {
        var health = JsonNode.Parse(await client.GetStringAsync("/health"))!;
        Assert.Equal("healthy", health["status"]!.GetValue<string>());
        Assert.Equal(
            ["migrations", "store", "workers"],
            health["checks"]!.AsArray().Where(c => c!["status"]!.GetValue<string>() == "healthy").Select(c => c!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("Healthy", await client.GetStringAsync("/alive"));
    }

    private static string Without(JsonObject body, string field)
    {
        body.Remove(field);
        return body.ToJsonString();
    }
}
