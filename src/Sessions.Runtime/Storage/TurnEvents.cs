using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Storage;

/// <summary>
/// A turn's events as its record keeps them: one JSON array, in order, each event its type, node, exact time and its
/// type's fields. An event's seq is not written: a turn's events are numbered without gaps up to the turn's last seq,
/// so the i-th of n is `last_seq - n + 1 + i`, and the turn number is the record's. Shared by every provider, so that
/// an event reads back the same from any store.
/// </summary>
public static class TurnEvents
{
    /// <summary>
    /// The events of <paramref name="turn"/> as stored with it; null when it has none. Throws when they are not the
    /// turn's, numbered without gaps up to its last seq: a commit that broke that would read back other events.
    /// </summary>
    public static string? Write(TurnDocument? turn, IReadOnlyList<RunEvent> events)
    {
        if (events.Count == 0)
        {
            return null;
        }

        Check(turn, events);
        var buffer = new ArrayBufferWriter<byte>(256 * events.Count);
        using (var writer = ArrayWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < events.Count; i++)
            {
                var item = events[i];
                writer.WriteStartObject();
                writer.WriteString(Type, item.Type.ToWire());
                writer.WriteString(NodeId, item.NodeId);
                writer.WriteString(Timestamp, item.Timestamp.ToString("O", CultureInfo.InvariantCulture));
                writer.WritePropertyName(Fields);
                EventCatalogue.WriteFields(writer, item.Payload);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Throws unless <paramref name="events"/> are <paramref name="turn"/>'s, numbered without gaps up to its last seq
    /// (events without a turn to keep them included): every store checks a commit with it, or through <see cref="Write"/>.
    /// </summary>
    public static void Check(TurnDocument? turn, IReadOnlyList<RunEvent> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (turn is null || events[i].TurnNumber != turn.TurnNumber || events[i].Seq != turn.LastSeq - events.Count + 1 + i)
            {
                throw new InvalidOperationException(
                    $"Event {events[i].Seq} of turn {events[i].TurnNumber} of run {events[i].RunId} is not where turn {turn?.TurnNumber} (events up to {turn?.LastSeq}) would keep it.");
            }
        }
    }

    /// <summary>
    /// The events stored with a turn whose last seq is <paramref name="lastSeq"/>, those after <paramref name="afterSeq"/>
    /// only, appended to <paramref name="into"/> until it holds <paramref name="limit"/>.
    /// </summary>
    public static void Read(string runId, int turnNumber, long lastSeq, string stored, long afterSeq, int limit, List<RunEvent> into)
    {
        using var document = JsonDocument.Parse(stored, JsonText.DocumentOptions);
        var items = document.RootElement;
        var count = items.GetArrayLength();
        var firstSeq = lastSeq - count + 1;
        for (var i = (int)Math.Max(0, afterSeq + 1 - firstSeq); i < count && into.Count < limit; i++)
        {
            var item = items[i];
            into.Add(new RunEvent(
                runId,
                firstSeq + i,
                turnNumber,
                item.GetProperty(NodeId).GetString(),
                DateTimeOffset.Parse(item.GetProperty(Timestamp).GetString()!, CultureInfo.InvariantCulture),
                EventCatalogue.ReadFields(WireNames<RunEventType>.Parse(item.GetProperty(Type).GetString()!), item.GetProperty(Fields))));
        }
    }

    /// <summary>
    /// One event of the layout before this one (a row of its own: a type column and a payload of node, time and fields)
    /// as an element of a turn's array, for the upgrade that moves events into their turns. The payload's own fields
    /// are copied as they are, so nothing is read back differently.
    /// </summary>
    internal static void WriteEarlier(Utf8JsonWriter writer, string type, string payload)
    {
        using var stored = JsonDocument.Parse(payload, JsonText.DocumentOptions);
        writer.WriteStartObject();
        writer.WriteString(Type, type);
        foreach (var property in stored.RootElement.EnumerateObject())
        {
            property.WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>The writer <see cref="WriteEarlier"/> writes a turn's array with.</summary>
    internal static Utf8JsonWriter ArrayWriter(IBufferWriter<byte> buffer) =>
        new(buffer, new JsonWriterOptions { Encoder = DocumentJson.Options.Encoder, MaxDepth = DocumentJson.Options.MaxDepth });

    private const string Type = "type";
    private const string NodeId = "node_id";
    private const string Timestamp = "timestamp";
    private const string Fields = "fields";
}

/// <summary>An event as the layout before one record per turn kept it: a row (or document) of its own.</summary>
public sealed record EarlierEvent<T>(string RunId, long Seq, int TurnNumber, T Stored);

/// <summary>The events of one turn, read from the earlier layout, to be stored with the turn.</summary>
public sealed record EarlierTurnEvents<T>(string RunId, int TurnNumber, long LastSeq, IReadOnlyList<T> Events);

/// <summary>The upgrade's rule, the same on every store: which events go to which turn, and that none is lost on the way.</summary>
public static class EarlierEvents
{
    /// <summary>
    /// <paramref name="rows"/> (ordered by run, then seq) grouped by turn. Throws when a turn's events are not numbered
    /// without gaps: stored with their turn, they would read back under other numbers.
    /// </summary>
    public static IEnumerable<EarlierTurnEvents<T>> ByTurn<T>(IEnumerable<EarlierEvent<T>> rows)
    {
        List<T>? items = null;
        EarlierEvent<T>? first = null, last = null;
        foreach (var row in rows)
        {
            if (first is not null && (row.RunId != first.RunId || row.TurnNumber != first.TurnNumber))
            {
                yield return new EarlierTurnEvents<T>(first.RunId, first.TurnNumber, last!.Seq, items!);
                first = null;
            }

            if (first is null)
            {
                (first, items) = (row, []);
            }
            else if (row.Seq != last!.Seq + 1)
            {
                throw new InvalidOperationException(
                    $"Run {row.RunId}'s turn {row.TurnNumber} has events {last.Seq} and {row.Seq} with none between them; its events cannot be moved into the turn. The database is left as it was from this run on.");
            }

            items!.Add(row.Stored);
            last = row;
        }

        if (first is not null)
        {
            yield return new EarlierTurnEvents<T>(first.RunId, first.TurnNumber, last!.Seq, items!);
        }
    }

    /// <summary>The events of a turn of the earlier SQL layout (type column, payload of node, time and fields) as the turn's array.</summary>
    public static string ToArray(IReadOnlyList<(string Type, string Payload)> events)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * events.Count);
        using (var writer = TurnEvents.ArrayWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (type, payload) in events)
            {
                TurnEvents.WriteEarlier(writer, type, payload);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Runs whose events move in one transaction of the upgrade: a few thousand events at most, so a batch is quick and an interrupted upgrade loses little.</summary>
    public const int RunsPerBatch = 200;
}
