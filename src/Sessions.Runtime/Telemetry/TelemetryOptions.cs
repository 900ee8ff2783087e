using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Telemetry;

/// <summary>What the server tells through OpenTelemetry beyond the standard `OTEL_*` variables. Section `Sessions:Telemetry`.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Sessions:Telemetry";

    /// <summary>
    /// Whether a model call's span carries the messages sent and the reply (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`). Off by default: they are the conversation, which a trace backend may not be cleared to
    /// keep. Never a credential either way: keys go in headers, which no span records.
    /// </summary>
    public bool RecordContent { get; set; }

    /// <summary>Whether `GET /metrics` answers the `Sessions` meter (and the rest) in Prometheus' text format.</summary>
    public bool Prometheus { get; set; }

    /// <summary>
    /// Seconds between the store reads behind the gauges `sessions.runs.waiting` and `sessions.work.due`; the store is
    /// read only while something collects them.
    /// </summary>
    [Range(1, 3600)]
    public int GaugeSeconds { get; set; } = 60;
}
