using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sessions.Runtime.Telemetry;

/// <summary>
/// What the runtime tells an operator through OpenTelemetry, in .NET's own types (the host exports them): the
/// ActivitySource and Meter named `Sessions`, and the names of their spans, instruments and attributes, which are part
/// of the product's contract (README, Observability).
/// </summary>
public static class SessionsTelemetry
{
    public const string Name = "Sessions";

    public static readonly ActivitySource Source = new(Name, typeof(SessionsTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(Name, typeof(SessionsTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Turns taken, by trigger, outcome (applied or refused) and the run's status after.</summary>
    public static readonly Counter<long> Turns = Meter.CreateCounter<long>("sessions.turns", "{turn}", "Turns taken, by trigger, outcome and the run's status after.");

    /// <summary>How long a turn took, from its request to its answer.</summary>
    public static readonly Histogram<double> TurnDuration = Meter.CreateHistogram<double>("sessions.turn.duration", "s", "How long a turn took, from its request to its answer.");

    // Span names.
    public const string TurnSpan = "sessions.turn";
    public const string NodeSpan = "sessions.node";
    public const string CommitSpan = "sessions.store.commit";

    // Attribute names.
    public const string RunId = "sessions.run_id";
    public const string WorkflowId = "sessions.workflow_id";
    public const string WorkflowVersion = "sessions.workflow.version";
    public const string TurnNumber = "sessions.turn_number";
    public const string Tenant = "sessions.tenant";
    public const string Trigger = "sessions.turn.trigger";
    public const string RunStatus = "sessions.run.status";
    public const string Outcome = "sessions.turn.outcome";
    public const string NodeId = "sessions.node.id";
    public const string NodeType = "sessions.node.type";
    public const string DbSystem = "db.system.name";
}
