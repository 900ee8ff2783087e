using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Turns;

/// <summary>A field of a request with the wrong JSON type, named by its path.</summary>
public sealed record FieldError(string Path, string Message);

/// <summary>
/// Reads a `run_input` as the published protocol shapes it: lenient about fields it does not know, strict about the
/// types of the fields it uses. Used for live requests and for replaying recorded ones, so both read alike.
/// </summary>
public static class RunInputReader
{
    public static readonly IReadOnlyDictionary<string, TurnCommand> Commands = new Dictionary<string, TurnCommand>(StringComparer.OrdinalIgnoreCase)
    {
        ["start"] = TurnCommand.Start,
        ["data"] = TurnCommand.Data,
        ["resume"] = TurnCommand.Resume,
        ["pause"] = TurnCommand.Pause,
        ["stop"] = TurnCommand.Stop,
    };

    /// <summary>The turn that <paramref name="input"/> asks for; throws a 400 naming every wrong field.</summary>
    public static TurnRequest Read(JsonObject input, string tenantId, string workflowId, string? runId) =>
        Read(input, tenantId, workflowId, runId, [], runIdMalformed: false);

    /// <summary>
    /// As <see cref="Read(JsonObject, string, string, string?)"/>, with <paramref name="errors"/> already found elsewhere in
    /// the body: the 400 names them and this input's together, as `malformed_id` when the run id was one of them.
    /// </summary>
    public static TurnRequest Read(JsonObject input, string tenantId, string workflowId, string? runId, List<FieldError> errors, bool runIdMalformed)
    {
        var commandName = String(input, "command", errors);
        var userMessage = String(input, "user_message", errors);
        var dynamic = Object(input, "dynamic_variables", errors);
        var runtime = Object(input, "runtime_variables", errors);
        var runBy = String(input, "run_by", errors);

        // Clients of the published protocol may send the reply as dynamic_variables.user_message; it is the reply, not a variable.
        if (dynamic is not null && dynamic.ContainsKey("user_message"))
        {
            dynamic = (JsonObject)dynamic.DeepClone();
            var aliased = dynamic["user_message"];
            dynamic.Remove("user_message");
            if (aliased is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                userMessage ??= v.GetValue<string>();
            }
            else if (aliased is not null)
            {
                errors.Add(new("$.run_input.dynamic_variables.user_message", "user_message is a string."));
            }
        }

        if (errors.Count > 0)
        {
            throw runIdMalformed ? MalformedRunId(errors) : InvalidFields(errors);
        }

        var command = TurnCommand.Start;
        if (commandName is not null && !Commands.TryGetValue(commandName, out command))
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.UnknownCommand, "Unknown command", $"'{commandName}' is not a command; use one of: {string.Join(", ", Commands.Keys)}.")
                .With("allowed", Commands.Keys.ToArray());
        }

        return new TurnRequest
        {
            TenantId = tenantId,
            WorkflowId = workflowId,
            RunId = runId,
            Command = command,
            UserMessage = userMessage,
            DynamicVariables = dynamic,
            RuntimeVariables = runtime,
            RunBy = runBy,
            VersionNumber = ReadVersionNumber(input["version_number"]),
            RecordedInput = (JsonObject)input.DeepClone(),
        };
    }

    public static DomainException InvalidFields(IReadOnlyList<FieldError> errors, string? detail = null) =>
        new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid request", detail ?? "Some fields have the wrong JSON type; see errors.")
            .With("errors", errors);

    /// <summary>A malformed run_id keeps its own code, with every other wrong field of the body named beside it.</summary>
    public static DomainException MalformedRunId(IReadOnlyList<FieldError> errors) =>
        new DomainException(ErrorKind.BadRequest, ProblemCodes.MalformedId, "Malformed id", "'run_id' must be 24 lowercase hex characters (an ObjectId); see errors for every wrong field.")
            .With("parameter", "run_id")
            .With("errors", errors);

    public static DomainException InvalidVersionNumber() =>
        new(ErrorKind.BadRequest, ProblemCodes.InvalidVersionNumber, "Invalid version_number", "'version_number' is a whole number >= 0.");

    /// <summary>An optional `version_number` field: absent or null is none, a whole number >= 0 is it, anything else a 400.</summary>
    public static int? ReadVersionNumber(JsonNode? node) =>
        node is null ? null
        : node is JsonValue v && v.TryGetValue<int>(out var number) && number >= 0 ? number
        : throw InvalidVersionNumber();

    private static string? String(JsonObject input, string name, List<FieldError> errors) => input[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => Error<string>(errors, name, $"{name} is a string."),
    };

    private static JsonObject? Object(JsonObject input, string name, List<FieldError> errors) => input[name] switch
    {
        null => null,
        JsonObject obj => obj,
        _ => Error<JsonObject>(errors, name, $"{name} is an object."),
    };

    private static T? Error<T>(List<FieldError> errors, string name, string message)
        where T : class
    {
        errors.Add(new($"$.run_input.{name}", message));
        return null;
    }
}
