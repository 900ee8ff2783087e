using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Http;

/// <summary>
/// Reads an execute body: its shape, `run_id`, `expected_turn` and a top-level `version_number` here, its `run_input`
/// with the runtime's reader (the one replays use). Unknown fields are ignored; every used field of the wrong type is
/// named in one 400, with its JSON path.
/// </summary>
public static class ExecuteRequestParser
{
    public static TurnRequest Parse(JsonNode? body, string tenantId, string workflowId, int? queryVersionNumber)
    {
        if (body is not null and not JsonObject)
        {
            throw RunInputReader.InvalidFields([new("$", "The body is a JSON object.")]);
        }

        var root = body as JsonObject ?? [];
        var errors = new List<FieldError>();
        string? runId = null;
        var runIdMalformed = false;
        switch (root["run_id"])
        {
            case null:
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && Sessions.Runtime.Ids.ObjectId.TryParse(v.GetValue<string>(), out var id):
                runId = id.ToString();
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                errors.Add(new("$.run_id", "run_id is 24 lowercase hex characters (an ObjectId)."));
                runIdMalformed = true;
                break;
            default:
                errors.Add(new("$.run_id", "run_id is a string."));
                break;
        }

        int? expectedTurn = null;
        switch (root["expected_turn"])
        {
            case null:
                break;
            case JsonValue v when v.TryGetValue<int>(out var turn) && turn >= 0:
                expectedTurn = turn;
                break;
            default:
                errors.Add(new("$.expected_turn", "expected_turn is an integer, 0 or more."));
                break;
        }

        var input = root["run_input"] as JsonObject;
        if (root["run_input"] is not null && input is null)
        {
            errors.Add(new("$.run_input", "run_input is an object."));
        }

        var request = RunInputReader.Read(input ?? [], tenantId, workflowId, runId, errors, runIdMalformed) with { ExpectedTurn = expectedTurn };

        // The version: the query's, else run_input's, else one at the top of the body (where some clients send it).
        var topVersionNumber = RunInputReader.ReadVersionNumber(root["version_number"]);
        if (topVersionNumber is not null && request.VersionNumber is not null && topVersionNumber != request.VersionNumber)
        {
            throw new Sessions.Runtime.Errors.DomainException(
                Sessions.Runtime.Errors.ErrorKind.BadRequest,
                Sessions.Runtime.Errors.ProblemCodes.InvalidVersionNumber,
                "Two version numbers",
                $"version_number is {topVersionNumber} at the top of the body and {request.VersionNumber} in run_input; send one.");
        }

        return request with { VersionNumber = queryVersionNumber ?? request.VersionNumber ?? topVersionNumber };
    }
}
