using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Sessions.Client;

/// <summary>
/// One run, turn after turn, carrying what the protocol needs between turns: the run id, the turn number it last saw
/// (sent as `expected_turn`, so a reply meant for one turn never lands on another), and a fresh idempotency key per
/// reply (reused by the client's own retries, so a reply whose answer was lost is applied once).
/// </summary>
public sealed class Conversation
{
    private readonly SessionsClient client;

    internal Conversation(SessionsClient client, string workflowId, TurnAnswer answer)
    {
        this.client = client;
        WorkflowId = workflowId;
        Last = answer;
    }

    public string WorkflowId { get; }

    public string RunId => Last.RunId;

    public RunStatus Status => Last.Status;

    public int TurnNumber => Last.TurnNumber;

    /// <summary>What the run waits for (its prompt and the input it takes); null unless it waits for input.</summary>
    public InputHint? Hint => Last.NextInputHint;

    public bool IsWaitingForInput => Last.IsWaitingForInput;

    /// <summary>The run has finished (completed, failed, cancelled, or stopped by the loop guard).</summary>
    public bool IsFinished => Last.IsCompleted;

    /// <summary>The last turn's answer.</summary>
    public TurnAnswer Last { get; private set; }

    /// <summary>What the last turn said, in order (`say` texts and model replies).</summary>
    public IReadOnlyList<string> Said => Last.Said();

    /// <summary>Sends the person's reply: the next turn's answer. A reply the run refuses throws, and changes nothing.</summary>
    public Task<TurnAnswer> ReplyAsync(string message, JsonObject? variables = null, CancellationToken cancellationToken = default) =>
        TakeAsync(new RunInput(UserMessage: message, DynamicVariables: variables), cancellationToken);

    /// <summary>Cancels the run.</summary>
    public Task<TurnAnswer> StopAsync(CancellationToken cancellationToken = default) => TakeAsync(new RunInput(Command: "stop"), cancellationToken);

    /// <summary>Parks a waiting run as `paused`.</summary>
    public Task<TurnAnswer> PauseAsync(CancellationToken cancellationToken = default) => TakeAsync(new RunInput(Command: "pause"), cancellationToken);

    /// <summary>Continues a paused run.</summary>
    public Task<TurnAnswer> ResumeAsync(CancellationToken cancellationToken = default) => TakeAsync(new RunInput(Command: "resume"), cancellationToken);

    /// <summary>Sends the reply with files (each fills its variable, or answers an `ask` of kind `file`).</summary>
    public async Task<TurnAnswer> ReplyWithFilesAsync(string? message, IReadOnlyList<FileToSend> files, CancellationToken cancellationToken = default)
    {
        var answer = await client.ExecuteWithFilesAsync(WorkflowId, Next(new RunInput(UserMessage: message)), files, NewKey(), cancellationToken);
        return Took(answer);
    }

    /// <summary>
    /// Sends the reply and streams the turn: its events as they happen, a model's reply as it is written, the answer
    /// last. A dropped connection is taken up again without losing or repeating an event.
    /// </summary>
    public async IAsyncEnumerable<TurnUpdate> StreamAsync(string message, JsonObject? variables = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in client.ExecuteStreamingAsync(WorkflowId, Next(new RunInput(UserMessage: message, DynamicVariables: variables)), NewKey(), cancellationToken: cancellationToken))
        {
            if (update is TurnFinished finished)
            {
                Took(finished.Answer);
            }

            yield return update;
        }
    }

    /// <summary>Sends the reply to run in the background: its turn number, to <see cref="JoinAsync(BackgroundTurn, CancellationToken)"/> later.</summary>
    public async Task<BackgroundTurn> ReplyInBackgroundAsync(string message, CancellationToken cancellationToken = default) =>
        await client.ExecuteInBackgroundAsync(WorkflowId, Next(new RunInput(UserMessage: message)), NewKey(), cancellationToken: cancellationToken);

    /// <summary>Waits for a background turn of this run and takes its answer as the conversation's latest.</summary>
    public async Task<TurnAnswer> JoinAsync(int turnNumber, CancellationToken cancellationToken = default) =>
        Took(await client.JoinTurnAsync(RunId, turnNumber, cancellationToken));

    /// <summary>Waits for the background turn <paramref name="accepted"/> names (<see cref="ReplyInBackgroundAsync"/>) and takes its answer.</summary>
    public Task<TurnAnswer> JoinAsync(BackgroundTurn accepted, CancellationToken cancellationToken = default) =>
        JoinAsync(accepted.TurnNumber, cancellationToken);

    private async Task<TurnAnswer> TakeAsync(RunInput input, CancellationToken cancellationToken) =>
        Took(await client.ExecuteAsync(WorkflowId, Next(input), NewKey(), cancellationToken: cancellationToken));

    private ExecuteRequest Next(RunInput input) => new(RunId, input, ExpectedTurn: TurnNumber);

    private TurnAnswer Took(TurnAnswer answer)
    {
        Last = answer;
        return answer;
    }

    private static string NewKey() => Guid.NewGuid().ToString("n");
}
