using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Recordings;

/// <summary>
/// One call a node made outside the server (a model, an HTTP service), kept with its turn: what was sent, rendered
/// and with every secret value replaced by its name, and what came back (or how the call failed). A recorded replay
/// answers the same call from here instead of making it again.
/// </summary>
/// <param name="NodeId">The node that made the call; with the call's order among that node's calls in the turn, what a replay matches on.</param>
/// <param name="Kind">`llm` (a model) or `http` (an `http_request` node).</param>
/// <param name="Error">The failure's message when the call failed instead of answering; a replay fails the same way.</param>
/// <param name="Truncated">The answer was larger than `Sessions:Replay:MaxRecordedBytes`: <see cref="Response"/> keeps only its start.</param>
/// <param name="FromRecording">The call was not made: a replay answered it from the run it replays.</param>
public sealed record RecordedCall(
    string NodeId,
    string Kind,
    JsonObject Request,
    JsonObject? Response,
    string? Error = null,
    bool Truncated = false,
    bool FromRecording = false)
{
    public const string Llm = "llm";
    public const string Http = "http";
}

/// <summary>How a replay answers the calls its turns make.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CallSource>))]
public enum CallSource
{
    /// <summary>From the recording of the run it replays; a call that differs follows <see cref="ChangedCallPolicy"/>.</summary>
    [JsonStringEnumMemberName("recorded")] Recorded,

    /// <summary>Made again, for real.</summary>
    [JsonStringEnumMemberName("live")] Live,
}

/// <summary>What a recorded replay does with a call it cannot answer from the recording.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangedCallPolicy>))]
public enum ChangedCallPolicy
{
    /// <summary>The replay stops before the call, and says where and why.</summary>
    [JsonStringEnumMemberName("stop")] Stop,

    /// <summary>The call is made for real, and the turn's differences are put down to it.</summary>
    [JsonStringEnumMemberName("live")] Live,
}

/// <summary>Why a recorded replay could not answer a call from the recording.</summary>
public static class CallDivergenceKinds
{
    /// <summary>The node sent something else than the recorded call (a new prompt, URL, body or model).</summary>
    public const string RequestChanged = "request_changed";

    /// <summary>The source run made no such call: a node new in this version, or one the source never reached.</summary>
    public const string NotRecorded = "call_not_recorded";

    /// <summary>The recorded answer was larger than the recording keeps.</summary>
    public const string RecordingTruncated = "recording_truncated";
}

/// <summary>
/// One call a recorded replay could not answer from the recording: which, why, the request recorded (none for a call
/// never recorded) and the one sent, and what the replay did (`stop`, or `live`: the call was made).
/// </summary>
public sealed record CallDivergence(string Kind, string NodeId, int Index, JsonObject? Recorded, JsonObject Sent, ChangedCallPolicy Followed);

/// <summary>How a replayed turn's calls went: those answered from the recording, those made live, and the divergences.</summary>
public sealed record CallReport(int FromRecording, int Live, IReadOnlyList<CallDivergence> Divergences)
{
    public static readonly CallReport None = new(0, 0, []);
}

/// <summary>What a replay or fork was asked to do with calls: answer them from the source run's recording, or make them.</summary>
public sealed record CallReplayMode(CallSource Source, ChangedCallPolicy OnChanged)
{
    /// <summary>A replay's default: from the recording, stopping at a call that changed.</summary>
    public static readonly CallReplayMode Recorded = new(CallSource.Recorded, ChangedCallPolicy.Stop);

    /// <summary>A fork's default, as before recordings: its waiting node's question is asked again for real.</summary>
    public static readonly CallReplayMode Live = new(CallSource.Live, ChangedCallPolicy.Live);

    /// <summary>For a turn whose source made <paramref name="recorded"/> starting at <paramref name="clock"/>.</summary>
    public ReplayedCalls For(IReadOnlyList<RecordedCall>? recorded, DateTimeOffset clock) => new(Source, OnChanged, recorded ?? [], clock);
}
