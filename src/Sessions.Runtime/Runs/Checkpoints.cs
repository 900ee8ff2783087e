using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Runs;

/// <summary>
/// The run's state after every turn, kept without repeating the run each turn. A turn stores what it changed against
/// the state after the turn before (<see cref="TurnDocument.Changes"/>): the run's top-level fields that changed, the
/// variables set and removed, and the messages the conversation dropped and gained. Once the changes stored since the
/// last full snapshot add up to more than a snapshot would take, the turn stores a snapshot instead
/// (<see cref="TurnDocument.StateAfter"/>), as the first turn does. So a turn costs its events plus at most twice what
/// it changed, and rebuilding any turn's state reads one snapshot and at most a snapshot's worth of changes. What the turn
/// record says already is not repeated in its changes (<see cref="FromRecord"/>).
/// </summary>
public static class Checkpoints
{
    private const string Variables = "variables";
    private const string Conversation = "conversation";
    private const string Set = "set";
    private const string Removed = "removed";
    private const string Drop = "drop";
    private const string Append = "append";

    /// <summary>
    /// What the turn that took <paramref name="before"/> to <paramref name="after"/> stores: a snapshot, or its changes.
    /// Returns <paramref name="after"/> with <see cref="RunDocument.ChangedBytesSinceSnapshot"/> brought up to date.
    /// </summary>
    /// <param name="beforeJson">
    /// <paramref name="before"/> as the commit before stored it, when at hand (this server's copy of the run): what the
    /// changes are replayed onto, so it saves writing it again.
    /// </param>
    public static (RunDocument Run, RunDocument? Snapshot, JsonObject? Changes) Record(RunDocument? before, RunDocument after, string? beforeJson = null)
    {
        if (before is null || before.TurnNumber == 0)
        {
            var first = after with { ChangedBytesSinceSnapshot = 0 };
            return (first, first, null);
        }

        // Both states as their stored bytes, compared property by property without building a tree of either: only
        // what changed becomes part of the record.
        var afterBytes = JsonSerializer.SerializeToUtf8Bytes(after, DocumentJson.Options);
        using var afterDocument = JsonDocument.Parse(afterBytes, ReadOptions);
        using var beforeDocument = beforeJson is null
            ? JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(before, DocumentJson.Options), ReadOptions)
            : JsonDocument.Parse(beforeJson, ReadOptions);
        var changes = Diff(beforeDocument.RootElement, afterDocument.RootElement);
        LeaveToRecord(changes, before, after);
        var owed = before.ChangedBytesSinceSnapshot + SizeOf(changes);
        if (owed > afterBytes.Length)
        {
            var snapshot = after with { ChangedBytesSinceSnapshot = 0 };
            return (snapshot, snapshot, null);
        }

        // The counter is not stored with the changes: it is their running size, which rebuilding adds up again.
        return (after with { ChangedBytesSinceSnapshot = owed }, null, changes);
    }

    /// <summary>What a turn's changes count towards the next snapshot: their size as stored.</summary>
    /// <remarks>
    /// Exact when read back too: every store gives back the JSON it was given (SQLite and PostgreSQL the text,
    /// MongoDB through <c>JsonBson</c>, which keeps each value's text), and it serializes again to the same bytes.
    /// </remarks>
    private static long SizeOf(JsonObject changes) => JsonSerializer.SerializeToUtf8Bytes(changes, DocumentJson.Options).Length;

    /// <summary>
    /// The state after each of <paramref name="turns"/> (in turn order), where it can be known: a turn recorded before
    /// checkpoints were kept, and every change-only turn after it until the next snapshot, have none.
    /// </summary>
    public static IReadOnlyDictionary<int, RunDocument> StatesAfter(IReadOnlyList<TurnDocument> turns)
    {
        var states = new Dictionary<int, RunDocument>();
        JsonObject? state = null;
        long owed = 0;
        foreach (var turn in turns.OrderBy(t => t.TurnNumber))
        {
            if (turn.StateAfter is { } snapshot)
            {
                state = ToJson(snapshot);
                owed = snapshot.ChangedBytesSinceSnapshot;
                states[turn.TurnNumber] = snapshot;
            }
            else if (turn.Changes is { } changes && state is not null)
            {
                Apply(state, changes);
                owed = FromRecord(state, changes, turn, owed);
                states[turn.TurnNumber] = state.Deserialize<RunDocument>(DocumentJson.Options)!;
            }
            else
            {
                state = null;
            }
        }

        return states;
    }

    private static readonly string TurnNumber = Name(nameof(RunDocument.TurnNumber));
    private static readonly string LastSeq = Name(nameof(RunDocument.LastSeq));
    private static readonly string Status = Name(nameof(RunDocument.Status));
    private static readonly string WaitingHint = Name(nameof(RunDocument.WaitingHint));
    private static readonly string UpdatedAt = Name(nameof(RunDocument.UpdatedAt));
    private static readonly string Version = Name(nameof(RunDocument.Version));
    private static readonly string ChangedBytesSinceSnapshot = Name(nameof(RunDocument.ChangedBytesSinceSnapshot));
    private static readonly string WaitingForUserInput = RunStatus.WaitingForUserInput.ToWire();

    private static string Name(string property) => DocumentJson.Options.PropertyNamingPolicy!.ConvertName(property);

    /// <summary>
    /// Takes out of a turn's changes what its record holds already, about two fifths of them on an ordinary turn: the
    /// turn's number and last seq (the record's own), the run's status, the time of the change (the record's
    /// <see cref="TurnDocument.CompletedAt"/>, which the committer writes from the run's <see cref="RunDocument.UpdatedAt"/>),
    /// and the hint a waiting run waits with (the record's answer, written from this same run by
    /// <see cref="TurnDocument.OutputOf"/>). The run's version goes too when the turn's commit was the run's only write
    /// since the turn before (it went up by one), as it is unless a lease or a queued turn was written.
    /// <see cref="FromRecord"/> puts them back.
    /// </summary>
    private static void LeaveToRecord(JsonObject changes, RunDocument before, RunDocument after)
    {
        if (changes[Set] is not JsonObject set)
        {
            return;
        }

        set.Remove(TurnNumber);
        set.Remove(LastSeq);
        set.Remove(Status);
        set.Remove(UpdatedAt);
        if (after.Status == RunStatus.WaitingForUserInput)
        {
            set.Remove(WaitingHint);
        }

        if (after.Version == before.Version + 1)
        {
            set.Remove(Version);
        }

        if (set.Count == 0)
        {
            changes.Remove(Set);
        }
    }

    /// <summary>
    /// Sets on a state rebuilt from <paramref name="changes"/> what <see cref="LeaveToRecord"/> left to its turn's record,
    /// and the bytes owed since the last snapshot, <paramref name="owed"/> before this turn; returns them. A turn stored
    /// before changes left these out holds them in its changes, with the same values, so it reads back alike.
    /// </summary>
    private static long FromRecord(JsonObject state, JsonObject changes, TurnDocument turn, long owed)
    {
        state[TurnNumber] = turn.TurnNumber;
        state[LastSeq] = turn.LastSeq;
        if (turn.Output[TurnDocument.OutputStatus] is JsonValue status)
        {
            state[Status] = status.DeepClone();
            if (status.GetValue<string>() == WaitingForUserInput)
            {
                state[WaitingHint] = turn.Output[TurnDocument.OutputHint]?.DeepClone();
            }
        }

        var set = changes[Set] as JsonObject;
        if (set?[Version] is null)
        {
            state[Version] = state[Version]!.GetValue<long>() + 1;
        }

        if (set?[UpdatedAt] is null)
        {
            state[UpdatedAt] = JsonSerializer.SerializeToNode(turn.CompletedAt, DocumentJson.Options);
        }

        owed = set?[ChangedBytesSinceSnapshot] is JsonValue stored ? stored.Deserialize<long>() : owed + SizeOf(changes);
        state[ChangedBytesSinceSnapshot] = owed;
        return owed;
    }

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = DocumentJson.Options.MaxDepth };

    private static JsonObject ToJson(RunDocument run) => JsonSerializer.SerializeToNode(run, DocumentJson.Options)!.AsObject();

    /// <summary>
    /// Values are compared as the bytes the serializer wrote: equal values of one model serialize alike, and a value
    /// that is equal but written otherwise (its keys in another order, say) is only recorded as set again, which
    /// replays to the same state.
    /// </summary>
    private static bool Same(JsonElement before, JsonElement after) =>
        before.ValueKind == after.ValueKind && JsonMarshal.GetRawUtf8Value(before).SequenceEqual(JsonMarshal.GetRawUtf8Value(after));

    /// <summary>
    /// The properties of <paramref name="after"/> that are new or changed against <paramref name="before"/>, and the
    /// names of those it no longer has. Both are walked side by side while their names line up, which they do for two
    /// runs (one type, serialized alike) and for variables that only gained some: names are then compared as bytes,
    /// and decoded only for what changed.
    /// </summary>
    private static (List<(string Name, JsonElement? Old, JsonElement Value)> Changed, List<string> Removed) Compare(JsonElement before, JsonElement after)
    {
        List<JsonProperty> olds = [.. before.EnumerateObject()];
        List<JsonProperty> news = [.. after.EnumerateObject()];
        var changed = new List<(string, JsonElement?, JsonElement)>();
        var aligned = 0;
        for (; aligned < olds.Count && aligned < news.Count; aligned++)
        {
            var (old, current) = (olds[aligned], news[aligned]);
            if (!JsonMarshal.GetRawUtf8PropertyName(old).SequenceEqual(JsonMarshal.GetRawUtf8PropertyName(current)))
            {
                break;
            }

            if (!Same(old.Value, current.Value))
            {
                changed.Add((current.Name, old.Value, current.Value));
            }
        }

        var rest = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var old in olds.Skip(aligned))
        {
            rest[old.Name] = old.Value;
        }

        foreach (var current in news.Skip(aligned))
        {
            if (!rest.Remove(current.Name, out var old))
            {
                changed.Add((current.Name, null, current.Value));
            }
            else if (!Same(old, current.Value))
            {
                changed.Add((current.Name, old, current.Value));
            }
        }

        return (changed, [.. rest.Keys]);
    }

    private static JsonNode? Node(JsonElement value) => JsonNode.Parse(JsonMarshal.GetRawUtf8Value(value), documentOptions: ReadOptions);

    private static JsonObject Diff(JsonElement before, JsonElement after)
    {
        var changes = new JsonObject();
        var set = new JsonObject();
        foreach (var (name, old, value) in Compare(before, after).Changed)
        {
            if (name == Variables && old is { ValueKind: JsonValueKind.Object } oldVariables && value.ValueKind == JsonValueKind.Object)
            {
                changes[Variables] = DiffObject(oldVariables, value);
            }
            else if (name == Conversation && old is { ValueKind: JsonValueKind.Array } oldMessages && value.ValueKind == JsonValueKind.Array
                     && DiffArray(oldMessages, value) is { } messages)
            {
                changes[Conversation] = messages;
            }
            else
            {
                set[name] = Node(value);
            }
        }

        if (set.Count > 0)
        {
            changes[Set] = set;
        }

        return changes;
    }

    private static JsonObject DiffObject(JsonElement before, JsonElement after)
    {
        var (changed, removed) = Compare(before, after);
        var set = new JsonObject();
        foreach (var (name, _, value) in changed)
        {
            set[name] = Node(value);
        }

        // An empty half is left out (read back as empty): most turns set variables and remove none.
        var changes = new JsonObject();
        if (set.Count > 0)
        {
            changes[Set] = set;
        }

        if (removed.Count > 0)
        {
            changes[Removed] = new JsonArray(removed.Select(name => (JsonNode?)JsonValue.Create(name)).ToArray());
        }

        return changes;
    }

    /// <summary>The conversation only ever drops from its start and gains at its end; anything else is stored whole.</summary>
    private static JsonObject? DiffArray(JsonElement before, JsonElement after)
    {
        var old = before.EnumerateArray().ToList();
        var current = after.EnumerateArray().ToList();
        for (var drop = 0; drop <= old.Count; drop++)
        {
            var kept = old.Count - drop;
            if (kept <= current.Count && Enumerable.Range(0, kept).All(i => Same(old[drop + i], current[i])))
            {
                // Nothing dropped is left out (read back as 0), as it is on most turns.
                var changes = new JsonObject { [Append] = new JsonArray(current.Skip(kept).Select(Node).ToArray()) };
                if (drop > 0)
                {
                    changes.Insert(0, Drop, drop);
                }

                return changes;
            }
        }

        return null;
    }

    private static void Apply(JsonObject state, JsonObject changes)
    {
        if (changes[Set] is JsonObject set)
        {
            foreach (var (name, value) in set)
            {
                state[name] = value?.DeepClone();
            }
        }

        if (changes[Variables] is JsonObject variables)
        {
            var target = state[Variables] as JsonObject ?? [];
            foreach (var removed in variables[Removed] as JsonArray ?? [])
            {
                target.Remove(removed!.GetValue<string>());
            }

            foreach (var (name, value) in variables[Set] as JsonObject ?? [])
            {
                target[name] = value?.DeepClone();
            }

            state[Variables] = target;
        }

        if (changes[Conversation] is JsonObject conversation)
        {
            var messages = state[Conversation] as JsonArray ?? [];
            var drop = conversation[Drop]?.GetValue<int>() ?? 0;
            var kept = messages.Skip(drop).Select(m => m?.DeepClone()).Concat(conversation[Append]!.AsArray().Select(m => m?.DeepClone()));
            state[Conversation] = new JsonArray(kept.ToArray());
        }
    }
}
