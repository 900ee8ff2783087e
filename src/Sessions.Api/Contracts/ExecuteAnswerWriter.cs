using System.Text.Json;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Contracts;

/// <summary>Execute's JSON answer exactly as the endpoint writes it, for turns that store it under an idempotency key.</summary>
public sealed class ExecuteAnswerWriter(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : ITurnAnswerWriter
{
    public string Write(TurnOutcome outcome) => JsonSerializer.Serialize(ExecuteResponse.From(outcome), json.Value.SerializerOptions);

    public string WriteAccepted(AcceptedTurn accepted) => JsonSerializer.Serialize(BackgroundTurnResponse.Accepted(accepted), json.Value.SerializerOptions);
}
