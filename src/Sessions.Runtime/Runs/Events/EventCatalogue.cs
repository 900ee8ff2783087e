using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

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
    public static readonly JsonSerializerOptions Json = Frozen(new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = Values.JsonText.DocumentMaxDepth,
        AllowOutOfOrderMetadataProperties = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    });

    private static JsonSerializerOptions Frozen(JsonSerializerOptions options)
    {
        // Read-only, so that the records' contracts (which FieldValues reads) are built once and cached.
        options.MakeReadOnly();
        return options;
    }

    public static RunEventType TypeOf(Type record) => TypeOfRecord[record];

    /// <summary>The record an event type is read into.</summary>
    public static Type RecordOf(RunEventType type) => RecordOfType[type];

    /// <summary>An event's fields, without the discriminator (it is stored, and written, beside them).</summary>
    public static void WriteFields(Utf8JsonWriter writer, RunEventPayload payload) =>
        JsonSerializer.Serialize(writer, payload, payload.GetType(), Json);

    /// <summary>
    /// An event's fields as values, in order, to write flat among others (the wire's event): what
    /// <see cref="WriteFields"/> writes, from the record's contract, without writing and parsing it first (every answer
    /// has its turn's events). Null when it has none.
    /// </summary>
    public static Dictionary<string, object?>? FieldValues(RunEventPayload payload)
    {
        Dictionary<string, object?>? values = null;
        foreach (var field in Json.GetTypeInfo(payload.GetType()).Properties)
        {
            // A member the record ignores (its Type) is listed, without a getter.
            if (field.Get is not { } get)
            {
                continue;
            }

            var value = get(payload);
            if (field.IsExtensionData)
            {
                foreach (var (name, unknown) in (Dictionary<string, JsonElement>?)value ?? [])
                {
                    (values ??= [])[name] = unknown;
                }
            }
            else if (field.ShouldSerialize?.Invoke(payload, value) is not false)
            {
                (values ??= [])[field.Name] = field.CustomConverter switch
                {
                    null => value,
                    EventTime => EventTime.Format((DateTimeOffset)value!),
                    var other => throw new NotSupportedException($"{payload.GetType().Name}.{field.Name} is written by {other.GetType().Name}, which the wire's flat event does not know."),
                };
            }
        }

        return values;
    }

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

    public static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(Format(value));
}
