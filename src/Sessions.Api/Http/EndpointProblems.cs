namespace Sessions.Api.Http;

public static class EndpointProblems
{
    /// <summary>
    /// Declares each status as an answer with a problem-details body, for the OpenAPI document, with the two that every
    /// API endpoint may answer: 401 without a valid key, 429 over the key's rate.
    /// </summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Append(StatusCodes.Status401Unauthorized).Append(StatusCodes.Status429TooManyRequests).Distinct().Order())
        {
            builder.ProducesProblem(status);
        }

        return builder;
    }
}
