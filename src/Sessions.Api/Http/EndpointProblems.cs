namespace Sessions.Api.Http;

public static class EndpointProblems
{
    /// <summary>Declares each status as an answer with a problem-details body, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.ProducesProblem(status);
        }

        return builder;
    }
}
