using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Http;

/// <summary>
/// Reads an execute body: its shape, `run_id` and `expected_turn` here, its `run_input` with the runtime's reader (the one replays use).
/// Unknown fields are ignored; used fields of the wrong type are a 400 naming their JSON paths.
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
        switch (root["run_id"])
        {
            case null:
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                runId = RouteValues.ObjectIdOrThrow(v.GetValue<string>(), "run_id");
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

        if (errors.Count > 0)
        {
            throw RunInputReader.InvalidFields(errors);
        }

        var request = RunInputReader.Read(input ?? [], tenantId, workflowId, runId) with { ExpectedTurn = expectedTurn };
        return queryVersionNumber is null ? request : request with { VersionNumber = queryVersionNumber };
    }
}
