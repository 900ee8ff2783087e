using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Runs;

/// <summary>
/// The run's state after every turn, kept without repeating the run each turn. A turn stores what it changed against
/// the state after the turn before (<see cref="TurnDocument.Changes"/>): the run's top-level fields that changed, the
/// variables set and removed, and the messages the conversation dropped and gained. Once the changes stored since the
/// last full snapshot add up to more than a snapshot would take, the turn stores a snapshot instead
/// (<see cref="TurnDocument.StateAfter"/>), as the first turn does. So a turn costs its events plus at most twice what
/// it changed, and rebuilding any turn's state reads one snapshot and at most a snapshot's worth of changes.
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
    public static (RunDocument Run, RunDocument? Snapshot, JsonObject? Changes) Record(RunDocument? before, RunDocument after)
    {
        if (before is null || before.TurnNumber == 0)
        {
            var first = after with { ChangedBytesSinceSnapshot = 0 };
            return (first, first, null);
        }

        var afterJson = ToJson(after);
        var changes = Diff(ToJson(before), afterJson);
        var owed = before.ChangedBytesSinceSnapshot + changes.ToJsonString(DocumentJson.Options).Length;
        if (owed > afterJson.ToJsonString(DocumentJson.Options).Length)
        {
            var snapshot = after with { ChangedBytesSinceSnapshot = 0 };
            return (snapshot, snapshot, null);
        }

        var kept = after with { ChangedBytesSinceSnapshot = owed };

        // The counter changes every turn; it is part of what this turn changed, so that replaying gives it back exactly.
        changes[Set] ??= new JsonObject();
        changes[Set]!["changed_bytes_since_snapshot"] = owed;
        return (kept, null, changes);
    }

    /// <summary>
    /// The state after each of <paramref name="turns"/> (in turn order), where it can be known: a turn recorded before
    /// checkpoints were kept, and every change-only turn after it until the next snapshot, have none.
    /// </summary>
    public static IReadOnlyDictionary<int, RunDocument> StatesAfter(IReadOnlyList<TurnDocument> turns)
    {
        var states = new Dictionary<int, RunDocument>();
        JsonObject? state = null;
        foreach (var turn in turns.OrderBy(t => t.TurnNumber))
        {
            if (turn.StateAfter is { } snapshot)
            {
                state = ToJson(snapshot);
                states[turn.TurnNumber] = snapshot;
            }
            else if (turn.Changes is { } changes && state is not null)
            {
                Apply(state, changes);
                states[turn.TurnNumber] = state.Deserialize<RunDocument>(DocumentJson.Options)!;
            }
            else
            {
                state = null;
            }
        }

        return states;
    }

    private static JsonObject ToJson(RunDocument run) => JsonSerializer.SerializeToNode(run, DocumentJson.Options)!.AsObject();

    private static JsonObject Diff(JsonObject before, JsonObject after)
    {
        var changes = new JsonObject();
        var set = new JsonObject();
        foreach (var (name, value) in after)
        {
            var old = before[name];
            if (JsonNode.DeepEquals(old, value))
            {
                continue;
            }

            if (name == Variables && old is JsonObject oldVariables && value is JsonObject newVariables)
            {
                changes[Variables] = DiffObject(oldVariables, newVariables);
            }
            else if (name == Conversation && old is JsonArray oldMessages && value is JsonArray newMessages && DiffArray(oldMessages, newMessages) is { } messages)
            {
                changes[Conversation] = messages;
            }
            else
            {
                set[name] = value?.DeepClone();
            }
        }

        if (set.Count > 0)
        {
            changes[Set] = set;
        }

        return changes;
    }

    private static JsonObject DiffObject(JsonObject before, JsonObject after)
    {
        var set = new JsonObject();
        foreach (var (name, value) in after)
        {
            if (!before.TryGetPropertyValue(name, out var old) || !JsonNode.DeepEquals(old, value))
            {
                set[name] = value?.DeepClone();
            }
        }

        var removed = new JsonArray(before.Where(p => !after.ContainsKey(p.Key)).Select(p => (JsonNode?)JsonValue.Create(p.Key)).ToArray());
        return new JsonObject { [Set] = set, [Removed] = removed };
    }

    /// <summary>The conversation only ever drops from its start and gains at its end; anything else is stored whole.</summary>
    private static JsonObject? DiffArray(JsonArray before, JsonArray after)
    {
        for (var drop = 0; drop <= before.Count; drop++)
        {
            var kept = before.Count - drop;
            if (kept <= after.Count && Enumerable.Range(0, kept).All(i => JsonNode.DeepEquals(before[drop + i], after[i])))
            {
                return new JsonObject
                {
                    [Drop] = drop,
                    [Append] = new JsonArray(after.Skip(kept).Select(m => m?.DeepClone()).ToArray()),
                };
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
            foreach (var removed in variables[Removed]!.AsArray())
            {
                target.Remove(removed!.GetValue<string>());
            }

            foreach (var (name, value) in variables[Set]!.AsObject())
            {
                target[name] = value?.DeepClone();
            }

            state[Variables] = target;
        }

        if (changes[Conversation] is JsonObject conversation)
        {
            var messages = state[Conversation] as JsonArray ?? [];
            var drop = conversation[Drop]!.GetValue<int>();
            var kept = messages.Skip(drop).Select(m => m?.DeepClone()).Concat(conversation[Append]!.AsArray().Select(m => m?.DeepClone()));
            state[Conversation] = new JsonArray(kept.ToArray());
        }
    }
}
