using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Contracts;

/// <summary>The body of `POST /v1/workflows/{workflow_id}/execute`. Unknown fields are accepted and ignored.</summary>
public sealed record ExecuteRequest(
    [property: Description("Absent on the first turn, which creates the run; echoed on every later turn.")] string? RunId = null,
    RunInput? RunInput = null,
    [property: Description("Optional: the turn number the client last saw. If the run is at another turn (another tab moved it), the turn is refused with 409 turn_mismatch.")] int? ExpectedTurn = null,
    [property: Description("Where some clients send it: as run_input.version_number (send one of the two); the query parameter wins.")] int? VersionNumber = null);
