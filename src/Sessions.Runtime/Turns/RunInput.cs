using System.ComponentModel;
using System.Text.Json.Nodes;

namespace Sessions.Runtime.Turns;

/// <summary>
/// A turn's `run_input` as the published protocol shapes it: the typed record a request body binds to, live and when
/// a recorded turn is replayed. Unknown fields are accepted and ignored (they stay in the recorded input).
/// </summary>
public sealed record RunInput(
    [property: Description("start (default), data, resume, pause or stop.")] string? Command = null,
    [property: Description("The user's reply. Also accepted as dynamic_variables.user_message.")] string? UserMessage = null,
    [property: Description("Merged into the run's variables before the turn runs.")] JsonObject? DynamicVariables = null,
    [property: Description("Merged into the run's variables before dynamic_variables.")] JsonObject? RuntimeVariables = null,
    [property: Description("Kept with the turn's input; not used by the engine.")] JsonNode? Miscellaneous = null,
    [property: Description("Who started the run (first turn) or sent this turn.")] string? RunBy = null,
    [property: Description("The workflow version to run, first turn only; the query parameter wins.")] int? VersionNumber = null,
    [property: Description("First turn only: a URL that gets every webhook event of the run (unsigned), beside the workflow's own webhooks.")] string? WebhookUrl = null,
    [property: Description("First turn only: labels to find the run by (GET /v1/runs?metadata.<key>=value): at most 32 keys of letters, digits, _ - and ., each a string (at most 512 characters), a number or a boolean.")] JsonObject? Metadata = null,
    [property: Description("First turn only: the instance the run came from; filterable.")] string? OriginInstance = null,
    [property: Description("First turn only: the zone the run came from; filterable.")] string? OriginZone = null,
    [property: Description("First turn only: the caller's own reference for the run (an order or ticket id, say); filterable.")] string? OriginReference = null,
    [property: Description("What this turn does if another turn of the run is running or queued: reject (default: 409 turn_conflict), enqueue (run after them, in arrival order) or interrupt (cancel the running turn, keep nothing of it, run against the state before it).")] string? OnBusy = null);
