using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Turns;

/// <summary>
/// A turn's working copy of the run's variables, with their size as stored JSON kept up to date as they change, so
/// that the size limit is checked after every node without writing all of them out each time: a change costs the
/// size of the old and the new value of that variable only.
/// </summary>
internal sealed class RunVariables
{
    private readonly JsonObject values;

    public RunVariables(JsonObject values)
    {
        this.values = values;
        Bytes = Encoding.UTF8.GetByteCount(values.ToJsonString(DocumentJson.Options));
    }

    /// <summary>The variables themselves, for nodes to read and the run to keep; changed only through <see cref="Set"/>.</summary>
    public JsonObject Values => values;

    /// <summary>UTF-8 bytes of the variables as one JSON object, as stores keep it.</summary>
    public long Bytes { get; private set; }

    /// <summary>How deep the deepest value set during this turn nests (<see cref="JsonText.Depth"/>), for the depth limit.</summary>
    public int DeepestSet { get; private set; }

    public void Set(string name, JsonNode? value)
    {
        DeepestSet = Math.Max(DeepestSet, JsonText.Depth(value));
        var had = values.TryGetPropertyValue(name, out var old);
        var before = had ? EntryBytes(name, old) : 0;
        values[name] = value;
        var after = EntryBytes(name, value);

        // Entries are separated by commas: a new one adds one, except the first.
        Bytes += after - before + (had || values.Count == 1 ? 0 : 1);
    }

    private static long EntryBytes(string name, JsonNode? value) =>
        Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(name, DocumentJson.Options)) + 1
        + (value is null ? 4 : Encoding.UTF8.GetByteCount(value.ToJsonString(DocumentJson.Options)));
}
