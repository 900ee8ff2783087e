using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Definitions;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Turns a bound `run_input` into the turn it asks for. Used for live requests and for replaying recorded ones, so
/// both read alike: lenient about fields it does not know, strict about the fields it uses.
/// </summary>
public static class RunInputReader
{
    public const string Path = "$.run_input";

    public static readonly IReadOnlyDictionary<string, TurnCommand> Commands = new Dictionary<string, TurnCommand>(StringComparer.OrdinalIgnoreCase)
    {
        ["start"] = TurnCommand.Start,
        ["data"] = TurnCommand.Data,
        ["resume"] = TurnCommand.Resume,
        ["pause"] = TurnCommand.Pause,
        ["stop"] = TurnCommand.Stop,
        ["retry"] = TurnCommand.Retry,
    };

    /// <summary>The turn a recorded input asks for; throws a 400 naming every wrong field.</summary>
    public static TurnRequest Read(JsonObject recorded, string tenantId, string workflowId, string? runId)
    {
        var errors = new List<FieldError>();
        var input = JsonBinder.Bind<RunInput>(recorded, Path, errors);
        return Read(input, recorded, tenantId, workflowId, runId, errors);
    }

    /// <summary>
    /// The turn <paramref name="input"/> asks for, with <paramref name="errors"/> already found elsewhere in the body:
    /// the 400 names them and this input's together.
    /// </summary>
    public static TurnRequest Read(
        RunInput? input, JsonObject? recorded, string tenantId, string workflowId, string? runId, List<FieldError> errors)
    {
        input ??= new RunInput();
        var userMessage = input.UserMessage;
        var dynamic = input.DynamicVariables;

        // Clients of the published protocol may send the reply as dynamic_variables.user_message; it is the reply, not
        // a variable. The bound object is the request's own copy, so taking the alias out of it changes nothing else.
        if (dynamic is not null && dynamic.Remove("user_message", out var aliased))
        {
            if (aliased is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                userMessage ??= v.GetValue<string>();
            }
            else if (aliased is not null)
            {
                errors.Add(new($"{Path}.dynamic_variables.user_message", "user_message is a string."));
            }
        }

        FieldErrors.NotNegative(input.VersionNumber, $"{Path}.version_number", errors);
        if (input.WebhookUrl is { } webhookUrl && !WebhookSubscription.IsValidUrl(webhookUrl))
        {
            errors.Add(new($"{Path}.webhook_url", "webhook_url is an absolute http or https URL without credentials."));
        }

        RunLabels.CheckMetadata(input.Metadata, $"{Path}.metadata", errors);
        RunLabels.CheckOrigin(input.OriginInstance, $"{Path}.origin_instance", errors);
        RunLabels.CheckOrigin(input.OriginZone, $"{Path}.origin_zone", errors);
        RunLabels.CheckOrigin(input.OriginReference, $"{Path}.origin_reference", errors);

        var onBusy = BusyPolicy.Reject;
        if (input.OnBusy is { } policy && !WireNames<BusyPolicy>.TryParse(policy, out onBusy))
        {
            errors.Add(new($"{Path}.on_busy", $"on_busy is one of: {string.Join(", ", WireNames<BusyPolicy>.All)}, not \"{ProblemText.Shorten(policy)}\"."));
        }

        if (errors.Count > 0)
        {
            throw FieldErrors.Refusal(errors);
        }

        var command = TurnCommand.Start;
        if (input.Command is { } commandName && !Commands.TryGetValue(commandName, out command))
        {
            throw new DomainException(ErrorKind.BadRequest, ProblemCodes.UnknownCommand, "Unknown command", $"'{ProblemText.Shorten(commandName)}' is not a command; use one of: {string.Join(", ", Commands.Keys)}.")
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
            RuntimeVariables = input.RuntimeVariables,
            RunBy = input.RunBy,
            VersionNumber = input.VersionNumber,
            WebhookUrl = input.WebhookUrl,
            OnBusy = onBusy,
            Metadata = input.Metadata,
            OriginInstance = input.OriginInstance,
            OriginZone = input.OriginZone,
            OriginReference = input.OriginReference,
            RecordedInput = recorded is null ? [] : (JsonObject)recorded.DeepClone(),
        };
    }

    public static DomainException InvalidVersionNumber(string sent) =>
        new(ErrorKind.BadRequest, ProblemCodes.InvalidVersionNumber, "Invalid version_number", $"'version_number' is a whole number >= 0, not \"{ProblemText.Shorten(sent)}\".");
}
