using System.Text.Json.Serialization;

namespace Sessions.Runtime.Runs;

/// <summary>
/// What can happen to a run: the commands and events a turn brings, and what its nodes come to. Each status change is
/// one of these, fired at <see cref="RunMachine"/>; the wire names are what a refusal's `permitted_triggers` lists.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunTrigger>))]
public enum RunTrigger
{
    /// <summary>The first turn of a new run.</summary>
    [JsonStringEnumMemberName("start")] Start,

    /// <summary>The turn goes on to step the run's nodes.</summary>
    [JsonStringEnumMemberName("continue")] Continue,

    /// <summary>A node waits for the user (an `ask`).</summary>
    [JsonStringEnumMemberName("wait_for_input")] WaitForInput,

    /// <summary>The user answered the node the run waits at.</summary>
    [JsonStringEnumMemberName("reply")] Reply,

    /// <summary>The timer of the node the run waits at fired before a reply came.</summary>
    [JsonStringEnumMemberName("time_out")] TimeOut,

    /// <summary>A `pause` node stopped the turn.</summary>
    [JsonStringEnumMemberName("pause")] Pause,

    /// <summary>The `pause` command parked a waiting run.</summary>
    [JsonStringEnumMemberName("park")] Park,

    /// <summary>A turn continues a paused run (the `resume` command, a reply, or its timer).</summary>
    [JsonStringEnumMemberName("resume")] Resume,

    /// <summary>An `end` node finished the run.</summary>
    [JsonStringEnumMemberName("complete")] Complete,

    /// <summary>A `fail` node, a failed node or a passed limit failed the run.</summary>
    [JsonStringEnumMemberName("fail")] Fail,

    /// <summary>The loop guard stopped a turn that kept stepping without user input.</summary>
    [JsonStringEnumMemberName("loop_risk")] LoopRisk,

    /// <summary>The `stop` command, the cancel endpoint, or the reaper.</summary>
    [JsonStringEnumMemberName("cancel")] Cancel,

    /// <summary>The `retry` command runs a failed run again, in place, from the node that failed.</summary>
    [JsonStringEnumMemberName("retry")] Retry,

    /// <summary>A turn sent with `on_busy: interrupt` cancels the turn running on the run; the run keeps its status.</summary>
    [JsonStringEnumMemberName("interrupt")] Interrupt,
}

public static class RunTriggerNames
{
    public static string ToWire(this RunTrigger trigger) => WireNames<RunTrigger>.Of(trigger);
}
