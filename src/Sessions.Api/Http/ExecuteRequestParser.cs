using System.Text.Json.Nodes;
using Sessions.Api.Contracts;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Files;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Runs;

namespace Sessions.Api.Http;

/// <summary>
/// Reads an execute body: bound once to <see cref="ExecuteRequest"/>, then its `run_id`, `expected_turn` and top-level
/// `version_number` checked here and its `run_input` by the runtime's reader (the one replays use). Every wrong field
/// is named in one 400, with its JSON path.
/// </summary>
public static class ExecuteRequestParser
{
    public static TurnRequest Parse(JsonNode? body, string tenantId, string workflowId, int? queryVersionNumber)
    {
        var errors = new List<FieldError>();
        var request = JsonBinder.Bind<ExecuteRequest>(body ?? new JsonObject(), "$", errors) ?? new ExecuteRequest();

        string? runId = null;
        if (request.RunId is { } sentRunId)
        {
            if (ObjectId.TryParse(sentRunId, out var id))
            {
                runId = id.ToString();
            }
            else
            {
                errors.Add(FieldError.NotAnObjectId("$.run_id", "run_id", sentRunId));
            }
        }

        if ((body as JsonObject)?["run_input"] is JsonObject sent && sent.ContainsKey(UploadedFile.RecordedField))
        {
            // The server writes a turn's files there from its multipart file parts; a client naming files by hand could
            // point a run at bytes it never sent.
            errors.Add(new("$.run_input.files", "files are sent as multipart/form-data file parts, never in run_input."));
        }

        FieldErrors.NotNegative(request.ExpectedTurn, "$.expected_turn", errors);
        FieldErrors.NotNegative(request.VersionNumber, "$.version_number", errors);

        var turn = RunInputReader.Read(request.RunInput, (body as JsonObject)?["run_input"] as JsonObject, tenantId, workflowId, runId, errors)
            with { ExpectedTurn = request.ExpectedTurn };

        // The version: the query's, else run_input's, else one at the top of the body (where some clients send it).
        if (request.VersionNumber is { } top && turn.VersionNumber is { } inInput && top != inInput)
        {
            throw new DomainException(
                ErrorKind.BadRequest,
                ProblemCodes.InvalidVersionNumber,
                "Two version numbers",
                $"version_number is {top} at the top of the body and {inInput} in run_input; send one.");
        }

        return turn with { VersionNumber = queryVersionNumber ?? turn.VersionNumber ?? request.VersionNumber };
    }
}
