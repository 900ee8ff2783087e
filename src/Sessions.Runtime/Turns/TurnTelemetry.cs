using System.Diagnostics;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Telemetry;

namespace Sessions.Runtime.Turns;

/// <summary>A turn as the `Sessions` spans and instruments tell it (<see cref="SessionsTelemetry"/>).</summary>
internal static class TurnTelemetry
{
    /// <summary>What set a turn off, as `sessions.turn.trigger` names it.</summary>
    public static string TriggerOf(TurnRequest request) => request switch
    {
        { FiredTimer: not null } => "timer",
        { Command: TurnCommand.Stop } => "stop",
        { Command: TurnCommand.Pause } => "pause",
        { Command: TurnCommand.Resume } => "resume",
        { Command: TurnCommand.Retry } => "retry",
        { ReplayOf: not null } => "replay",
        { RunId: null } => "start",
        _ => "reply",
    };

    /// <summary>Counts a turn and its duration once it has come to something (applied, refused, or an error), and tags its span.</summary>
    public static void Record(Activity? span, TurnRequest request, RunDocument? after, string outcome, double seconds)
    {
        var tags = new TagList
        {
            { SessionsTelemetry.Trigger, TriggerOf(request) },
            { SessionsTelemetry.Outcome, outcome },
            { SessionsTelemetry.RunStatus, after?.Status.ToWire() ?? "unchanged" },
        };
        SessionsTelemetry.Turns.Add(1, tags);
        SessionsTelemetry.TurnDuration.Record(seconds, tags);
        if (span is null)
        {
            return;
        }

        span.SetTag(SessionsTelemetry.Outcome, outcome);
        if (after is not null)
        {
            span.SetTag(SessionsTelemetry.RunId, after.Id);
            span.SetTag(SessionsTelemetry.WorkflowVersion, after.VersionNumber);
            span.SetTag(SessionsTelemetry.TurnNumber, after.TurnNumber);
            span.SetTag(SessionsTelemetry.RunStatus, after.Status.ToWire());
        }
    }
}
