using System.Text;
using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Tests;

public class RunVariablesTests
{
    [Fact]
    public void The_tracked_size_is_always_the_size_of_the_variables_written_whole()
    {
        var variables = new RunVariables(new JsonObject());
        var random = new Random(7);
        string[] names = ["a", "name", "é\"quoted\"", "emoji😀", "n"];
        JsonNode?[] values = [null, 1, 2.5m, "text", "ünïcødé + \"quotes\" \\ ", new JsonArray(1, "two", null), new JsonObject { ["deep"] = new JsonObject { ["x"] = true } }, ""];
        for (var step = 0; step < 500; step++)
        {
            variables.Set(names[random.Next(names.Length)], values[random.Next(values.Length)]?.DeepClone());
            Assert.Equal(Encoding.UTF8.GetByteCount(variables.Values.ToJsonString(DocumentJson.Options)), variables.Bytes);
        }
    }

    [Fact]
    public void Starting_from_stored_variables_counts_them_once()
    {
        var stored = new JsonObject { ["order"] = "123456", ["items"] = new JsonArray(1, 2, 3) };
        var variables = new RunVariables(stored);
        Assert.Equal(Encoding.UTF8.GetByteCount(stored.ToJsonString(DocumentJson.Options)), variables.Bytes);
        variables.Set("order", "7");
        Assert.Equal(Encoding.UTF8.GetByteCount(stored.ToJsonString(DocumentJson.Options)), variables.Bytes);
    }
}
