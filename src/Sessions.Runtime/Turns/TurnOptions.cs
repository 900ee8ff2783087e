using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Turns;

/// <summary>How long a turn holds its run, and how much one turn may do. Section `Sessions:Turns`.</summary>
public sealed class TurnOptions
{
    public const string Section = "Sessions:Turns";

    /// <summary>
    /// A turn's lease on its run, renewed every third of it while the turn works. If its server dies, another server
    /// may take the run over this long after the last renewal.
    /// </summary>
    [Range(1, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>A `user_message` longer than this (in characters) is refused with 422 `user_message_too_long`.</summary>
    [Range(1, 1_000_000)]
    public int MaxUserMessageChars { get; set; } = 16_000;

    /// <summary>A turn that records more events than this fails its run (termination_source `limits`).</summary>
    [Range(10, 1_000_000)]
    public int MaxEventsPerTurn { get; set; } = 1_000;

    /// <summary>
    /// The run's variables as JSON may not grow past this many bytes: request variables that would pass it are refused
    /// with 422 `variables_too_large`; a workflow that grows them past it fails the run (termination_source `limits`).
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxVariablesBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// How deep JSON may nest, counted in objects and arrays (`{"a":[1]}` is 2). A request body deeper than this is
    /// refused on every endpoint with 400 `malformed_json`; a run's variable may nest three less, so that it can always be
    /// sent back inside `run_input.dynamic_variables`, and a workflow that sets one deeper (from a called service's
    /// answer) fails its run (termination_source `limits`). Answers wrap values in their own envelopes, a few levels
    /// more; stored runs and reads accept far more (<see cref="Values.JsonText.DocumentMaxDepth"/>), so whatever was
    /// accepted can always be written out and read back.
    /// </summary>
    [Range(8, Values.JsonText.MaxConfigurableDepth)]
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>The deepest a run's variable may nest: its place in a body (`run_input.dynamic_variables`) takes three levels.</summary>
    public int MaxVariableDepth => MaxJsonDepth - 3;

    /// <summary>
    /// How much memory (in MB of JSON) the runs this server committed last may take, so that their next turns need not
    /// read them back (<see cref="RecentRuns"/>); 0 keeps none.
    /// </summary>
    [Range(0, 4096)]
    public int RecentRunsMegabytes { get; set; } = 32;

    /// <summary>
    /// How long a turn sent with `run_input.on_busy: "enqueue"` waits for the turns ahead of it before it is refused
    /// with 409 `turn_conflict`.
    /// </summary>
    [Range(1, 3600)]
    public int EnqueueWaitSeconds { get; set; } = 120;

    /// <summary>
    /// How long a stop or an interrupt waits for the turn it cancels (in this process) to let go of the run; a node that
    /// ignores cancellation for longer makes the stop a 409 `turn_conflict`.
    /// </summary>
    [Range(1, 600)]
    public int CancelWaitSeconds { get; set; } = 10;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
}

/// <summary>How long an idempotency key's answer is kept. Section `Sessions:Idempotency`.</summary>
public sealed class IdempotencyOptions
{
    public const string Section = "Sessions:Idempotency";

    [Range(0.001, 24 * 365)]
    public double RetentionHours { get; set; } = 24;
}
