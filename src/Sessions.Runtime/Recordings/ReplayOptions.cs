using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Recordings;

/// <summary>What the recordings of calls keep, and what a replay does with one that kept too little. Section `Sessions:Replay`.</summary>
public sealed class ReplayOptions
{
    public const string Section = "Sessions:Replay";

    /// <summary>
    /// A call's answer larger than this (UTF-8 bytes of its JSON) is stored cut to this size and marked truncated: a model
    /// or service that answers megabytes does not make every turn that calls it that large to store.
    /// </summary>
    [Range(1_024, 16 * 1024 * 1024)]
    public int MaxRecordedBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// What a recorded replay does when the call it needs was stored truncated: `Stop` (the default: the replay stops
    /// there and says so) or `Live` (that call is made for real).
    /// </summary>
    public ChangedCallPolicy TruncatedCalls { get; set; } = ChangedCallPolicy.Stop;
}

/// <summary>
/// How one replayed turn's calls are answered: from <paramref name="Recorded"/> (the calls the source run's same turn
/// made) or live, and the clock its nodes read (the source turn's start), so a replay of an unchanged version sees
/// what the original saw.
/// </summary>
public sealed record ReplayedCalls(CallSource Source, ChangedCallPolicy OnChanged, IReadOnlyList<RecordedCall> Recorded, DateTimeOffset? Clock);
