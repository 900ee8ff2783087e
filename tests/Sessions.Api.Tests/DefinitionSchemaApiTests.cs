using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Sessions.Api.Tests;

/// <summary>The definition format's JSON Schema as the server serves it, and the check an editor (or the console) runs before an upload.</summary>
public sealed class DefinitionSchemaApiTests : IDisposable
{
    private readonly SessionsFactory factory = new(null, AuthTests.Settings());

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task The_schema_is_served_without_a_key_exactly_as_kept_in_docs()
    {
        var response = await factory.CreateClient().GetAsync("/v1/schemas/workflow-definition.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/schema+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(File.ReadAllText(WorkflowSchema.FilePath), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Validate_reports_what_an_upload_would_and_stores_nothing()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("x-api-key", "acme-editor-key-0123456789");
        var before = (await (await client.GetAsync("/v1/workflows")).ReadObjectAsync())["total"]!.GetValue<int>();

        var broken = await client.PostAsync("/v1/workflows/validate", Http.Json("""
            { "name": "Broken", "start": "a", "nodes": [ { "id": "a", "type": "ask", "promt": "?", "variable": "x", "next": "gone" } ] }
            """));
        Assert.Equal(HttpStatusCode.OK, broken.StatusCode);
        var report = await broken.ReadObjectAsync();
        Assert.False(report["valid"]!.GetValue<bool>());
        var errors = report["errors"]!.AsArray().Select(e => (e!["path"]!.GetValue<string>(), e["code"]!.GetValue<string>())).ToList();
        Assert.Contains(("$.nodes[0].prompt", "missing_field"), errors);
        Assert.Contains(("$.nodes[0].next", "dangling_next"), errors);
        Assert.Contains(report["warnings"]!.AsArray(), w => w!["code"]!.GetValue<string>() == "ignored_field" && w["path"]!.GetValue<string>() == "$.nodes[0].promt");

        var fine = await (await client.PostAsync("/v1/workflows/validate", Http.Json("""
            { "name": "Fine", "start": "a", "nodes": [ { "id": "a", "type": "end" } ] }
            """))).ReadObjectAsync();
        Assert.True(fine["valid"]!.GetValue<bool>());
        Assert.Empty(fine["errors"]!.AsArray());

        Assert.Equal(before, (await (await client.GetAsync("/v1/workflows")).ReadObjectAsync())["total"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CreateClient().PostAsync("/v1/workflows/validate", Http.Json("{}"))).StatusCode);
    }

    /// <summary>
    /// A version stored by an older server with a value this one refuses on upload (a description that is a number, an
    /// http node's response mapping that is not an object) is compiled again after a restart: its runs go on.
    /// </summary>
    [Fact]
    public async Task A_version_stored_before_a_stricter_check_still_runs_after_a_restart()
    {
        using var folder = new TempDirectory();
        var database = folder.File("sessions.db");
        string workflowId;
        using (var first = new SessionsFactory(database))
        {
            var created = await (await first.CreateClient().PostAsync("/v1/workflows", Http.Json("""
                { "name": "Old", "start": "ask", "nodes": [
                  { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "done" },
                  { "id": "done", "type": "end", "output": "{{name}}" } ] }
                """))).ReadObjectAsync();
            workflowId = created["workflow_id"]!.GetValue<string>();
        }

        // What an older server accepted and stored: a description of the wrong type, once ignored.
        await using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE workflow_versions SET definition = json_set(definition, '$.description', 42) WHERE workflow_id = $id";
            command.Parameters.AddWithValue("$id", workflowId);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        using var restarted = new SessionsFactory(database);
        var client = restarted.CreateClient();
        var refused = await client.PostAsync($"/v1/workflows/{workflowId}/versions", Http.Json("""
            { "name": "Old", "description": 42, "start": "done", "nodes": [ { "id": "done", "type": "end" } ] }
            """));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);

        var started = await client.PostAsync($"/v1/workflows/{workflowId}/execute", Http.Json("{}"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var runId = (await started.ReadObjectAsync())["run_id"]!.GetValue<string>();
        var finished = await (await client.PostAsync($"/v1/workflows/{workflowId}/execute", Http.Json($$"""{ "run_id": "{{runId}}", "run_input": { "user_message": "Ada" } }"""))).ReadObjectAsync();
        Assert.Equal("completed", finished["status"]!.GetValue<string>());
    }
}
