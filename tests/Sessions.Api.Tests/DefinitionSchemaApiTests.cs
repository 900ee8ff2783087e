using System.Net;
using System.Text.Json.Nodes;

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
}
