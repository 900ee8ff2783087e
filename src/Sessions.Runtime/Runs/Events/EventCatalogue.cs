using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs.Events;

/// <summary>
/// The event types and their records: which record an event type is read into, and the JSON every record is written
/// and read with. The list itself is the <see cref="JsonDerivedTypeAttribute"/>s of <see cref="RunEventPayload"/>.
/// </summary>
public static class EventCatalogue
{
    private static readonly FrozenDictionary<Type, RunEventType> TypeOfRecord = typeof(RunEventPayload)
        .GetCustomAttributes<JsonDerivedTypeAttribute>()
        .ToFrozenDictionary(a => a.DerivedType, a => WireNames<RunEventType>.Parse((string)a.TypeDiscriminator!));

    private static readonly FrozenDictionary<RunEventType, Type> RecordOfType = TypeOfRecord.ToFrozenDictionary(p => p.Value, p => p.Key);

    /// <summary>
    /// Names as the records declare them, every member written unless it says otherwise, text unescaped where JSON
    /// allows (stores keep it as written; the HTTP host escapes what it sends its own way), and the `type`
    /// discriminator found wherever it is in an event read from the wire.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = Values.JsonText.DocumentMaxDepth,
        AllowOutOfOrderMetadataProperties = true,
    };

    public static RunEventType TypeOf(Type record) => TypeOfRecord[record];

    /// <summary>The record an event type is read into.</summary>
    public static Type RecordOf(RunEventType type) => RecordOfType[type];

    /// <summary>An event's fields, without the discriminator (it is stored, and written, beside them).</summary>
    public static void WriteFields(Utf8JsonWriter writer, RunEventPayload payload) =>
        JsonSerializer.Serialize(writer, payload, payload.GetType(), Json);

    /// <summary>An event's fields, as a value to write among others (the wire's flat event).</summary>
    public static JsonElement FieldsOf(RunEventPayload payload) => JsonSerializer.SerializeToElement(payload, payload.GetType(), Json);

    /// <summary>An event's fields as a JSON object, for a store that keeps documents of its own kind.</summary>
    public static JsonObject FieldsObject(RunEventPayload payload) => JsonSerializer.SerializeToNode(payload, payload.GetType(), Json)!.AsObject();

    /// <summary>An event of <paramref name="type"/> from its fields.</summary>
    public static RunEventPayload ReadFields(RunEventType type, JsonElement fields) =>
        (RunEventPayload)fields.Deserialize(RecordOf(type), Json)!;

    /// <inheritdoc cref="ReadFields(RunEventType, JsonElement)"/>
    public static RunEventPayload ReadFields(RunEventType type, JsonObject fields) =>
        (RunEventPayload)fields.Deserialize(RecordOf(type), Json)!;

    /// <summary>The fields every event has on the wire beside its own (and its `type`).</summary>
    public static readonly IReadOnlySet<string> CommonFields = new HashSet<string>(["seq", "node_id", "turn_number", "timestamp"], StringComparer.Ordinal);

    /// <summary>An event as the protocol writes it (common fields, `type` and its own, flat), read into its record.</summary>
    public static RunEventPayload ReadWire(JsonElement wireEvent)
    {
        var payload = wireEvent.Deserialize<RunEventPayload>(Json)!;
        if (payload.Unknown is not { } unknown || !unknown.Keys.Any(CommonFields.Contains))
        {
            return payload;
        }

        var own = unknown.Where(p => !CommonFields.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return payload with { Unknown = own.Count == 0 ? null : own };
    }
}

/// <summary>A time in an event's fields: UTC, round-trip format ("O", seven decimals and `Z`), as the protocol has always written it.</summary>
public sealed class EventTime : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
}
