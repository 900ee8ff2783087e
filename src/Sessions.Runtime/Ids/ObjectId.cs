using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Sessions.Runtime.Ids;

/// <summary>
/// A MongoDB-style ObjectId: 4-byte big-endian seconds, 5 random bytes fixed per process, 3-byte counter.
/// Ids are generated here rather than by a store so that every provider hands out the same shape.
/// </summary>
public readonly record struct ObjectId : IComparable<ObjectId>
{
    private static readonly byte[] ProcessRandom = RandomNumberGenerator.GetBytes(5);
    private static int counter = RandomNumberGenerator.GetInt32(0, 0xFFFFFF);

    private readonly string hex;

    private ObjectId(string hex) => this.hex = hex;

    public DateTimeOffset CreatedAt =>
        DateTimeOffset.FromUnixTimeSeconds(Convert.ToUInt32(hex[..8], 16));

    public static ObjectId NewId(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)now.ToUnixTimeSeconds());
        ProcessRandom.CopyTo(bytes[4..]);
        var next = Interlocked.Increment(ref counter) & 0xFFFFFF;
        bytes[9] = (byte)(next >> 16);
        bytes[10] = (byte)(next >> 8);
        bytes[11] = (byte)next;
        return new ObjectId(Convert.ToHexStringLower(bytes));
    }

    public static bool TryParse([NotNullWhen(true)] string? text, out ObjectId id)
    {
        id = default;
        if (text is null || text.Length != 24)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        id = new ObjectId(text);
        return true;
    }

    public static ObjectId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a 24-character lowercase hex ObjectId.");

    public int CompareTo(ObjectId other) => string.CompareOrdinal(hex, other.hex);

    public override string ToString() => hex ?? "000000000000000000000000";
}
