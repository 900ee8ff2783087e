using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Values;

/// <summary>
/// Reads variables whatever backs them: values parsed from the store hold a JsonElement, values made during a turn
/// hold a long, decimal or double, and both must compare the same way.
/// </summary>
public static class JsonValues
{
    public static bool TryGetNumber(JsonNode? node, out decimal number)
    {
        number = 0;
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number)
        {
            return false;
        }

        if (value.TryGetValue(out decimal m))
        {
            number = m;
            return true;
        }

        if (value.TryGetValue(out long l))
        {
            number = l;
            return true;
        }

        if (value.TryGetValue(out int i))
        {
            number = i;
            return true;
        }

        if (value.TryGetValue(out double d) && double.IsFinite(d) && Math.Abs(d) < (double)decimal.MaxValue)
        {
            number = (decimal)d;
            return true;
        }

        return false;
    }

    /// <summary>Equality as conditions need it: numbers by value (3 equals 3.0), everything else structurally.</summary>
    public static bool AreEqual(JsonNode? left, JsonNode? right)
    {
        if (TryGetNumber(left, out var l) && TryGetNumber(right, out var r))
        {
            return l == r;
        }

        return JsonNode.DeepEquals(left, right);
    }
}
