using System.Text;
using System.Text.Json.Nodes;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Tests;

public class JsonTextTests
{
    [Theory]
    [InlineData("""{"a":"fine","b":["ok",1,null]}""", null)]
    [InlineData("""{"a":{"b":["x","y\u0000"]}}""", "$.a.b[1]")]
    [InlineData("""{"a":"\ud800"}""", "$.a")]
    [InlineData("""{"a":"\udc00\ud800"}""", "$.a")]
    [InlineData("""{"a":"\ud83d\ude00 emoji"}""", null)]
    [InlineData("""{"n\u0000":1}""", "$.n\u0000")]
    public void Finds_the_first_text_no_store_keeps(string json, string? path)
    {
        Assert.Equal(path, JsonText.FindUnkeepable(JsonNode.Parse(json))?.Path);
    }

    [Fact]
    public void Finds_invalid_utf8_bytes()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"a\":[\"ok\",\"x").Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("\"]}")).ToArray();
        Assert.Equal("$.a[1]", JsonText.FindUnkeepable(JsonNode.Parse(bytes))?.Path);
    }

    [Fact]
    public void Keepable_text_replaces_only_what_no_store_keeps()
    {
        // Built in code: test names and attribute data cannot carry a lone surrogate intact.
        (string Text, string Expected)[] cases =
        [
            ("plain", "plain"),
            ("a\0b", "a\uFFFDb"),
            ("a\ud800b", "a\uFFFDb"),
            ("\udc00\ud800", "\uFFFD\uFFFD"),
            ("\ud83d\ude00", "\ud83d\ude00"),
            ("end\ud83d", "end\uFFFD"),
        ];
        Assert.All(cases, c => Assert.Equal(c.Expected, JsonText.Keepable(c.Text)));
    }

    [Theory]
    [InlineData("1", 0)]
    [InlineData("[]", 1)]
    [InlineData("""{"a":[1,{"b":[]}]}""", 4)]
    public void Depth_counts_containers(string json, int depth)
    {
        Assert.Equal(depth, JsonText.Depth(JsonNode.Parse(json)));
    }
}
