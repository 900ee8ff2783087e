namespace Sessions.Runtime.Runs;

/// <summary>What can happen to a run. Each status change is one of these, fired at the state machine.</summary>
public enum RunTrigger
{
    /// <summary>The first turn was accepted and the run document created.</summary>
    Start,

    /// <summary>The runtime begins stepping nodes.</summary>
    Step,

    /// <summary>An ask node waits for the user.</summary>
    AwaitInput,

    /// <summary>The user answered a waiting ask node.</summary>
    Reply,

    /// <summary>A waiting ask node's timer fired before an accepted reply.</summary>
    TimeOut,

    /// <summary>A pause node stopped the turn.</summary>
    Pause,

    /// <summary>The `pause` command parked a waiting run.</summary>
    Park,

    /// <summary>A turn continues a paused run.</summary>
    Resume,

    Complete,
    Fail,

    /// <summary>The `stop` command.</summary>
    Cancel,

    /// <summary>The loop guard stopped a turn that kept stepping without user input.</summary>
    TripLoopGuard,

    /// <summary>The `retry` command runs a failed run again, in place, from the node that failed.</summary>
    Retry,
}
