using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The problem a background turn was refused with, kept as the fields of its `turn_refused` event (and in its turn
/// record's output), so that joining the turn answers exactly what a synchronous turn would have.
/// </summary>
public static class QueuedRefusal
{
    public static JsonObject Fields(DomainException refusal)
    {
        var fields = new JsonObject
        {
            ["kind"] = refusal.Kind.ToString(),
            ["code"] = refusal.Code,
            ["title"] = refusal.Title,
            ["detail"] = refusal.Message,
        };
        if (refusal.Extensions.Count > 0)
        {
            fields["extensions"] = JsonSerializer.SerializeToNode(refusal.Extensions);
        }

        return fields;
    }

    /// <summary>The refusal recorded in <paramref name="fields"/>, to be answered again.</summary>
    public static DomainException Read(JsonObject fields)
    {
        var refusal = new DomainException(
            Enum.Parse<ErrorKind>(fields["kind"]!.GetValue<string>()),
            fields["code"]!.GetValue<string>(),
            fields["title"]!.GetValue<string>(),
            fields["detail"]!.GetValue<string>());
        foreach (var (name, value) in fields["extensions"]?.AsObject() ?? [])
        {
            refusal.With(name, value?.DeepClone());
        }

        return refusal;
    }
}
