using System.Reflection;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs;

/// <summary>
/// The wire names of a vocabulary enum, read from its <see cref="JsonStringEnumMemberNameAttribute"/>s, so that each
/// name is written once: on the enum member that clients see and stores keep.
/// </summary>
public static class WireNames<TEnum>
    where TEnum : struct, Enum
{
    private static readonly Dictionary<TEnum, string> Names = Enum.GetValues<TEnum>().ToDictionary(
        value => value,
        value => typeof(TEnum).GetField(value.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
            ?? throw new InvalidOperationException($"{typeof(TEnum).Name}.{value} has no wire name."));

    private static readonly Dictionary<string, TEnum> ByName = Names.ToDictionary(p => p.Value, p => p.Key);

    public static IEnumerable<string> All => Names.Values;

    public static string Of(TEnum value) => Names[value];

    public static bool TryParse(string name, out TEnum value) => ByName.TryGetValue(name, out value);

    public static TEnum Parse(string name) =>
        ByName.TryGetValue(name, out var value) ? value : throw new FormatException($"Unknown {typeof(TEnum).Name} '{name}'.");
}
