using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The problem a background turn was refused with, kept as its `turn_refused` event (and in its turn record's output),
/// so that joining the turn answers exactly what a synchronous turn would have.
/// </summary>
public static class QueuedRefusal
{
    public static TurnRefused Event(DomainException refusal) => new(
        refusal.Kind.ToString(),
        refusal.Code,
        refusal.Title,
        refusal.Message,
        refusal.Extensions.Count > 0 ? JsonSerializer.SerializeToNode(refusal.Extensions)!.AsObject() : null);

    /// <summary>The refusal <paramref name="recorded"/> says, to be answered again.</summary>
    public static DomainException Read(TurnRefused recorded)
    {
        var refusal = new DomainException(Enum.Parse<ErrorKind>(recorded.Kind), recorded.Code, recorded.Title, recorded.Detail);
        foreach (var (name, value) in recorded.Extensions ?? [])
        {
            refusal.With(name, value?.DeepClone());
        }

        return refusal;
    }

    /// <summary>The refusal as a turn record's output keeps it.</summary>
    public static JsonObject ToOutput(TurnRefused recorded) =>
        JsonSerializer.SerializeToNode(recorded, EventCatalogue.Json)!.AsObject();

    public static DomainException ReadOutput(JsonObject output) => Read(output.Deserialize<TurnRefused>(EventCatalogue.Json)!);
}
