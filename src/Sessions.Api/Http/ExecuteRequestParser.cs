using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Http;

/// <summary>
/// Reads an execute body as the published protocol shapes it: lenient about fields it does not know,
/// strict about the types of the fields it uses, reporting every wrong type with its JSON path.
/// </summary>
public static class ExecuteRequestParser
{
    private static readonly Dictionary<string, TurnCommand> Commands = new(StringComparer.OrdinalIgnoreCase)
    {
        ["start"] = TurnCommand.Start,
        ["data"] = TurnCommand.Data,
        ["resume"] = TurnCommand.Resume,
        ["pause"] = TurnCommand.Pause,
        ["stop"] = TurnCommand.Stop,
    };

    public static TurnRequest Parse(JsonNode? body, string tenantId, string workflowId, int? queryVersionNumber)
    {
        var errors = new List<object>();
        if (body is not null and not JsonObject)
        {
            throw Invalid([new { path = "$", message = "The body is a JSON object." }]);
        }

        var root = body as JsonObject ?? [];
        var runId = String(root, "run_id", "$", errors);
        if (runId is not null)
        {
            runId = RouteValues.ObjectIdOrThrow(runId, "run_id");
        }

        var input = root["run_input"] switch
        {
            null => [],
            JsonObject obj => obj,
            _ => Error<JsonObject>(errors, "$.run_input", "run_input is an object.") ?? [],
        };

        var commandName = String(input, "command", "$.run_input", errors);
        var userMessage = String(input, "user_message", "$.run_input", errors);
        var dynamic = Object(input, "dynamic_variables", errors);
        var runtime = Object(input, "runtime_variables", errors);
        var runBy = String(input, "run_by", "$.run_input", errors);
        var bodyVersion = input["version_number"];

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
                errors.Add(new { path = "$.run_input.dynamic_variables.user_message", message = "user_message is a string." });
            }
        }

        if (errors.Count > 0)
        {
            throw Invalid(errors);
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
            VersionNumber = queryVersionNumber ?? VersionNumber(bodyVersion),
            RecordedInput = (JsonObject)input.DeepClone(),
        };
    }

    private static int? VersionNumber(JsonNode? node) =>
        node is null ? null
        : node is JsonValue v && v.TryGetValue<int>(out var number) && number >= 0 ? number
        : throw RouteValues.InvalidVersionNumber();

    private static string? String(JsonObject obj, string name, string parent, List<object> errors) => obj[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => Error<string>(errors, $"{parent}.{name}", $"{name} is a string."),
    };

    private static JsonObject? Object(JsonObject input, string name, List<object> errors) => input[name] switch
    {
        null => null,
        JsonObject obj => obj,
        _ => Error<JsonObject>(errors, $"$.run_input.{name}", $"{name} is an object."),
    };

    private static T? Error<T>(List<object> errors, string path, string message)
        where T : class
    {
        errors.Add(new { path, message });
        return null;
    }

    private static DomainException Invalid(List<object> errors) =>
        new DomainException(ErrorKind.BadRequest, ProblemCodes.InvalidRequest, "Invalid request", "Some fields have the wrong JSON type; see errors.")
            .With("errors", errors);
}
