using System.Globalization;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Storage;

/// <summary>
/// The stored shape of an event beside its key columns (run, seq, turn, type): its node, its exact time and its
/// type's fields, in their order. Shared by every provider, so that an event reads back the same from any store.
/// </summary>
public static class EventPayload
{
    public static string Write(RunEvent item) => new JsonObject
    {
        ["node_id"] = item.NodeId,
        ["timestamp"] = item.Timestamp.ToString("O"),
        ["fields"] = item.Fields.DeepClone(),
    }.ToJsonString();

    public static RunEvent Read(string runId, long seq, int turnNumber, string type, string payloadJson)
    {
        var payload = JsonNode.Parse(payloadJson)!.AsObject();
        return new RunEvent(
            runId,
            seq,
            turnNumber,
            type,
            payload["node_id"]?.GetValue<string>(),
            DateTimeOffset.Parse(payload["timestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            payload["fields"]!.AsObject());
    }
}
