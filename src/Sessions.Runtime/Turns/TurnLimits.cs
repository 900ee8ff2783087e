using Sessions.Runtime.Errors;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What one turn may do (<see cref="TurnOptions"/>): a request over a limit is refused before anything happens; a
/// workflow that goes over one while it runs is stopped at a node boundary, where the run can be read.
/// </summary>
internal sealed class TurnLimits(TurnOptions options)
{
    /// <summary>Refuses a reply longer than allowed; 422 `user_message_too_long`.</summary>
    public void CheckReply(string? userMessage)
    {
        if (userMessage?.Length > options.MaxUserMessageChars)
        {
            throw new DomainException(
                    ErrorKind.Unprocessable,
                    ProblemCodes.UserMessageTooLong,
                    "user_message too long",
                    $"user_message has {userMessage.Length} characters; the limit is {options.MaxUserMessageChars}.")
                .With("limit_chars", options.MaxUserMessageChars);
        }
    }

    /// <summary>Refuses request variables that would make the run's variables too large; 422 `variables_too_large`.</summary>
    public void CheckRequestVariables(RunVariables variables)
    {
        if (variables.Bytes > options.MaxVariablesBytes)
        {
            throw new DomainException(
                    ErrorKind.Unprocessable,
                    ProblemCodes.VariablesTooLarge,
                    "Variables too large",
                    $"With this request's variables the run's variables would be {variables.Bytes} bytes of JSON; the limit is {options.MaxVariablesBytes}.")
                .With("limit_bytes", options.MaxVariablesBytes);
        }
    }

    /// <summary>Whether the turn must stop before its next node, and why; checked between nodes.</summary>
    public string? Exceeded(int eventCount, RunVariables variables)
    {
        if (eventCount >= options.MaxEventsPerTurn)
        {
            return $"The turn recorded {eventCount} events; the limit is {options.MaxEventsPerTurn} per turn (Sessions:Turns:MaxEventsPerTurn).";
        }

        if (variables.Bytes > options.MaxVariablesBytes)
        {
            return $"The run's variables grew to {variables.Bytes} bytes of JSON; the limit is {options.MaxVariablesBytes} (Sessions:Turns:MaxVariablesBytes).";
        }

        return variables.DeepestSet > options.MaxVariableDepth
            ? $"A variable was set to JSON nested {variables.DeepestSet} levels deep; the limit is {options.MaxVariableDepth} (Sessions:Turns:MaxJsonDepth less 3)."
            : null;
    }

    /// <summary>How many events a self-loop may still add before the turn's own limit ends it.</summary>
    public bool MayRecordMore(int eventCount) => eventCount < options.MaxEventsPerTurn;
}
