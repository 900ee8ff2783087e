using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Runtime.Turns.Answers;

/// <summary>
/// The JSON of what clients read: snake_case names, every member written (a null is `null`, not missing), numbers only
/// as numbers. Answers a turn stores under its idempotency key are written with it, and the HTTP host writes every other
/// answer with it too (<see cref="Apply"/>), so that both are the same JSON.
/// </summary>
public static class ProtocolJson
{
    public static readonly JsonSerializerOptions Options = Apply(new JsonSerializerOptions());

    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;

        // Bodies are parsed by hand with strict types; the schema must not promise that numbers may come as strings.
        options.NumberHandling = JsonNumberHandling.Strict;

        // An answer wraps values as deep as a body may send (Sessions:Turns:MaxJsonDepth) in its own envelope.
        options.MaxDepth = Values.JsonText.DocumentMaxDepth;
        return options;
    }
}
