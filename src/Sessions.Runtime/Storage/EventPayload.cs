using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Storage;

/// <summary>
/// The stored shape of an event beside its key columns (run, seq, turn, type): its node, its exact time and its
/// type's fields, in their order. Shared by every provider, so that an event reads back the same from any store.
/// </summary>
public static class EventPayload
{
    /// <summary>Written straight from the event, without copying its fields into a new object first: every turn writes several.</summary>
    public static string Write(RunEvent item)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = DocumentJson.Options.Encoder, MaxDepth = DocumentJson.Options.MaxDepth }))
        {
            writer.WriteStartObject();
            writer.WriteString("node_id", item.NodeId);
            writer.WriteString("timestamp", item.Timestamp.ToString("O", CultureInfo.InvariantCulture));
            writer.WritePropertyName("fields");
            EventCatalogue.WriteFields(writer, item.Payload);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static RunEvent Read(string runId, long seq, int turnNumber, string type, string payloadJson)
    {
        using var stored = JsonDocument.Parse(payloadJson, Values.JsonText.DocumentOptions);
        var payload = stored.RootElement;
        return new RunEvent(
            runId,
            seq,
            turnNumber,
            payload.GetProperty("node_id").GetString(),
            DateTimeOffset.Parse(payload.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture),
            EventCatalogue.ReadFields(WireNames<RunEventType>.Parse(type), payload.GetProperty("fields")));
    }
}
