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

    /// <summary>
    /// The turn's span, with what is known before it runs (tenant, workflow, trigger, the run when it exists), or null
    /// when nothing listens. Work a worker does links to the trace that left it.
    /// </summary>
    public static Activity? Start(TurnRequest request)
    {
        if (!SessionsTelemetry.Source.HasListeners())
        {
            return null;
        }

        var tags = new TagList
        {
            { SessionsTelemetry.Tenant, request.TenantId },
            { SessionsTelemetry.WorkflowId, request.WorkflowId },
            { SessionsTelemetry.Trigger, TriggerOf(request) },
        };
        if (request.RunId is { } runId)
        {
            tags.Add(SessionsTelemetry.RunId, runId);
        }

        return SessionsTelemetry.Source.StartActivity(ActivityKind.Internal, tags: tags, links: LinksOf(request), name: SessionsTelemetry.TurnSpan);
    }

    /// <summary>The span that left the work a worker's turn does (a timer, a background turn), as a link; none when unknown.</summary>
    public static ActivityLink[] LinksOf(TurnRequest request) =>
        SessionsTelemetry.ContextOf(request.ScheduledBy) is { TraceId: var trace } context && trace != default ? [new ActivityLink(context)] : [];

    /// <summary>Counts a write that took the run from another turn's lease (<see cref="RunLeases.TakeoverOf"/>), if it did.</summary>
    public static void CountTakeover(TurnLease? previous, string owner, DateTimeOffset now)
    {
        if (RunLeases.TakeoverOf(previous, owner, now) is { } kind)
        {
            SessionsTelemetry.LeaseTakeovers.Add(1, new KeyValuePair<string, object?>(SessionsTelemetry.LeaseTakeover, kind));
        }
    }

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
        if (request.FiredTimer is { } timer && outcome == "applied" && after is not null)
        {
            SessionsTelemetry.TimerLag.Record(Math.Max(0, (after.UpdatedAt - timer.DueAt).TotalSeconds), new KeyValuePair<string, object?>(SessionsTelemetry.WorkKind, WireNames<RunTimerKind>.Of(timer.Kind)));
        }

        if (span is null)
        {
            return;
        }

        span.AddTag(SessionsTelemetry.Outcome, outcome);
        if (after is not null)
        {
            if (request.RunId is null)
            {
                span.AddTag(SessionsTelemetry.RunId, after.Id);
            }

            span.AddTag(SessionsTelemetry.WorkflowVersion, after.VersionNumber);
            span.AddTag(SessionsTelemetry.TurnNumber, after.TurnNumber);
            span.AddTag(SessionsTelemetry.RunStatus, after.Status.ToWire());
        }
    }
}
