using System.Net;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace Sessions.Api.Tests;

/// <summary>The diagram of a workflow version, as Mermaid text and as SVG drawn on the server, for every sample and for hostile text.</summary>
public sealed class DiagramTests : IDisposable
{
    private readonly SessionsFactory factory = new();
    private readonly HttpClient client;

    public DiagramTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    public static TheoryData<string> Samples() => new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples", "workflows"), "*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Every_sample_has_a_diagram_with_each_node_and_each_way_out(string sample)
    {
        var definition = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "workflows", sample)))!.AsObject();
        var id = definition["workflow_id"]!.GetValue<string>();
        var nodes = definition["nodes"]!.AsArray().Select(n => n!["id"]!.GetValue<string>()).ToList();

        var mermaid = await client.GetAsync($"/v1/workflows/{id}/versions/0/diagram");
        Assert.Equal(HttpStatusCode.OK, mermaid.StatusCode);
        Assert.Equal("text/plain", mermaid.Content.Headers.ContentType!.MediaType);
        var lines = (await mermaid.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("flowchart TD", lines[0]);
        Assert.Equal("    start((\" \")) --> n0".Replace("n0", $"n{nodes.IndexOf(definition["start"]!.GetValue<string>())}"), lines[1]);
        for (var i = 0; i < nodes.Count; i++)
        {
            Assert.Single(lines, l => l.StartsWith($"    n{i}", StringComparison.Ordinal) && l.Contains($"\"{nodes[i]}<br/>", StringComparison.Ordinal));
        }

        var edges = lines.Count(l => l.Contains("-->", StringComparison.Ordinal)) - 1;
        var declared = definition["nodes"]!.AsArray().Sum(n => (n!["next"] is null ? 0 : 1) + (n["default"] is null ? 0 : 1) + (n["on_timeout"] is null ? 0 : 1)
            + (n["cases"]?.AsArray().Count ?? 0) + (n["self_loop"] is null ? 0 : 1));
        Assert.Equal(declared, edges);

        var svg = await client.GetAsync($"/v1/workflows/{id}/versions/0/diagram?format=svg");
        Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType!.MediaType);
        var drawing = XDocument.Parse(await svg.Content.ReadAsStringAsync());
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", drawing.Root!.Name);
        Assert.Equal(nodes.Order(), drawing.Descendants(ns + "g").Select(g => (string)g.Attribute("data-node-id")!).Order());
        Assert.Equal(declared, drawing.Descendants(ns + "path").Count(p => p.Attribute("marker-end") is not null));
        Assert.Empty(drawing.Descendants(ns + "script"));
    }

    [Fact]
    public async Task Branch_conditions_label_their_edges_and_hostile_text_stays_text()
    {
        var id = await client.UploadAsync("""
            { "name": "Odd <names> & \"quotes\"", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Say \"<script>alert(1)</script>\"\u0001 now", "variable": "x", "timeout_seconds": 60, "on_timeout": "out", "next": "check" },
              { "id": "check", "type": "branch", "cases": [
                  { "when": { "all": [ { "var": "x", "op": "eq", "value": "a\"b" }, { "any": [ { "var": "n", "op": "gt", "value": 3 }, { "not": { "var": "x", "op": "exists" } } ] } ] }, "next": "out" } ],
                "default": "ask" },
              { "id": "out", "type": "end" } ] }
            """);
        var mermaid = await client.GetStringAsync($"/v1/workflows/{id}/versions/0/diagram?format=mermaid");
        Assert.Contains("-- \"timeout\" -->", mermaid);
        Assert.Contains("-- \"default\" -->", mermaid);
        Assert.Contains("-- \"x eq #quot;a\\#quot;b#quot; and (n gt 3 or not x exists)\" -->", mermaid);
        Assert.DoesNotContain("<script>", mermaid);

        var svg = XDocument.Parse(await client.GetStringAsync($"/v1/workflows/{id}/versions/0/diagram?format=svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Empty(svg.Descendants(ns + "script"));
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.StartsWith("Say \"<script>", StringComparison.Ordinal));
        Assert.Equal("Odd <names> & \"quotes\"", svg.Root!.Element(ns + "title")!.Value);

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/v1/workflows/{id}/versions/0/diagram?format=png")).StatusCode);
        Assert.Equal("version_not_found", (await (await client.GetAsync($"/v1/workflows/{id}/versions/3/diagram")).ReadObjectAsync())["code"]!.GetValue<string>());
    }
}
