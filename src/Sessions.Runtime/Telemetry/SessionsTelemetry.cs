using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sessions.Runtime.Telemetry;

/// <summary>
/// What the runtime tells an operator through OpenTelemetry, in .NET's own types (the host exports them): the
/// ActivitySource and Meter named `Sessions`, and the names of their spans, instruments and attributes, which are part
/// of the product's contract (docs/observability.md).
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

    /// <summary>OpenTelemetry's GenAI client metric: tokens per model call, by `gen_ai.token.type` (input, output).</summary>
    public static readonly Histogram<long> ModelTokens = Meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per model call.");

    /// <summary>OpenTelemetry's GenAI client metric: how long a model call took.</summary>
    public static readonly Histogram<double> ModelDuration = Meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "How long a model call took.");

    /// <summary>How long a webhook delivery attempt took, by outcome.</summary>
    public static readonly Histogram<double> WebhookDuration = Meter.CreateHistogram<double>("sessions.webhook.delivery.duration", "s", "How long a webhook delivery attempt took.");

    /// <summary>Webhook delivery attempts that did not get a 2xx.</summary>
    public static readonly Counter<long> WebhookFailures = Meter.CreateCounter<long>("sessions.webhook.delivery.failures", "{attempt}", "Webhook delivery attempts that did not get a 2xx.");

    /// <summary>How late a timer's turn committed: seconds from the timer's deadline to its commit.</summary>
    public static readonly Histogram<double> TimerLag = Meter.CreateHistogram<double>("sessions.timer.lag", "s", "Seconds from a timer's deadline to the commit of its turn.");

    /// <summary>Runs taken from a turn that held them: an expired lease taken over, or a stop or interrupt preempting one.</summary>
    public static readonly Counter<long> LeaseTakeovers = Meter.CreateCounter<long>("sessions.lease.takeovers", "{takeover}", "Leases taken from another turn, expired or preempted.");

    /// <summary>Writes refused by the store's version check: another write of the run (or delivery) came first.</summary>
    public static readonly Counter<long> StoreConflicts = Meter.CreateCounter<long>("sessions.store.conflicts", "{conflict}", "Writes refused by the store's version check.");

    /// <summary>Runs waiting for people (for input, or paused), by tenant, workflow and status, as the store last counted them.</summary>
    public static readonly ObservableGauge<long> RunsWaiting = Meter.CreateObservableGauge("sessions.runs.waiting", StoreGauges.ObserveWaiting, "{run}", "Runs waiting for people, by workflow, as the store last counted them.");

    /// <summary>Work due now and not yet done, by kind: turns (timers and background turns) and webhook deliveries.</summary>
    public static readonly ObservableGauge<long> WorkDue = Meter.CreateObservableGauge("sessions.work.due", StoreGauges.ObserveDue, "{item}", "Work due and not yet done: turns (timers, background turns) and webhook deliveries.");

    // Span names.
    public const string TurnSpan = "sessions.turn";
    public const string NodeSpan = "sessions.node";
    public const string CommitSpan = "sessions.store.commit";
    public const string WebhookSpan = "sessions.webhook.deliver";
    public const string LeaseWaitSpan = "sessions.lease.wait";

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
    public const string WebhookId = "sessions.webhook.id";
    public const string HttpStatus = "http.response.status_code";
    public const string LeaseTakeover = "sessions.lease.takeover";
    public const string StoreWrite = "sessions.store.write";
    public const string WorkKind = "sessions.work.kind";

    /// <summary>
    /// The W3C `traceparent` of the span working now, to store with work a turn leaves for later (a timer, a background
    /// turn, a webhook delivery) so that the span doing it can link or belong to the trace that made it; null outside
    /// any W3C span, or when no one listens to the `Sessions` spans (then no span will link to it).
    /// </summary>
    public static string? CurrentTraceParent() =>
        Source.HasListeners() && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The span context a stored <see cref="CurrentTraceParent"/> names, or default (none) when there is none.</summary>
    public static ActivityContext ContextOf(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;

    // OpenTelemetry's GenAI semantic conventions, for model calls (a span named `chat {model}`).
    public const string GenAiOperation = "gen_ai.operation.name";
    public const string GenAiProvider = "gen_ai.provider.name";
    public const string GenAiRequestModel = "gen_ai.request.model";
    public const string GenAiResponseModel = "gen_ai.response.model";
    public const string GenAiInputTokens = "gen_ai.usage.input_tokens";
    public const string GenAiOutputTokens = "gen_ai.usage.output_tokens";
    public const string GenAiTokenType = "gen_ai.token.type";
    public const string GenAiInputMessages = "gen_ai.input.messages";
    public const string GenAiOutputMessages = "gen_ai.output.messages";
    public const string ServerAddress = "server.address";
}
