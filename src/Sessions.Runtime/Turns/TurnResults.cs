using System.Text.Json.Nodes;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns.Gates;

namespace Sessions.Runtime.Turns;

/// <summary>
/// What a run is doing now, for readers: the turn it is working on (accepted in the background, or running, here or on
/// another server), how far that turn has got (known where it runs), and how many background turns wait behind it.
/// </summary>
/// <param name="Steps">While the turn runs a `parallel` node here: how far its steps have got.</param>
public sealed record RunActivity(int TurnNumber, int CompletedSteps, string? CurrentNode, int QueuedTurns, Nodes.StepsProgress? Steps = null)
{
    /// <summary>Null when the run is between turns with nothing queued: its stored status is then what it is doing.</summary>
    public static RunActivity? Of(RunDocument run, IRunGate gate, RunningTurns running)
    {
        var holder = gate.HolderOf(run);
        if (holder is null && run.Queue.Count == 0)
        {
            return null;
        }

        var here = holder is null ? null : running.Find(run.TenantId, run.Id);
        var queued = run.Queue.Count - (RunQueue.RunsHead(run, holder) ? 1 : 0);
        return new RunActivity(run.TurnNumber + 1, here?.Progress.CompletedSteps ?? 0, here?.Progress.CurrentNode, queued, here?.Progress.Steps);
    }
}

/// <summary>A turn's result once it has one (<see cref="Outcome"/>), or the run as it is while the turn is still to come.</summary>
public sealed record TurnResult(RunDocument Run, int TurnNumber, TurnOutcome? Outcome, RunActivity? Activity);

/// <summary>
/// Joins a turn: the answer a turn gave, for a client that did not wait for it (a background turn, or a synchronous one
/// whose client gave up waiting), waiting for it if it is still to come. The answer is rebuilt from the turn's record and
/// events, which hold exactly what the synchronous answer was made of, so it is the same answer; a background turn
/// that its run refused answers the refusal it recorded.
/// </summary>
public sealed class TurnResults(IRunStore runs, IRunGate gate, RunEventFeed feed, RunningTurns running, TimeProvider clock)
{
    /// <summary>The longest a join may wait, in seconds.</summary>
    public const int MaxWaitSeconds = 120;

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    public async Task<TurnResult> JoinAsync(RunScope scope, string runId, int turnNumber, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + wait;
        while (true)
        {
            // Taken before reading, so that a commit between the read and the wait is not missed.
            var committed = feed.NextCommit(runId);
            var run = await runs.GetAsync(scope.TenantId, runId, cancellationToken) is { } found && scope.CanSee(found)
                ? found
                : throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);
            if (turnNumber <= run.TurnNumber)
            {
                return new TurnResult(run, turnNumber, await ReadAsync(run, turnNumber, cancellationToken), null);
            }

            if (RunMachine.IsTerminal(run.Status))
            {
                throw new DomainException(ErrorKind.Conflict, ProblemCodes.RunTerminal, "Run is finished", $"The run ended '{run.Status.ToWire()}' at turn {run.TurnNumber}; turn {turnNumber} will not run.")
                    .With("run_status", run.Status.ToWire())
                    .With("current_turn", run.TurnNumber);
            }

            var activity = RunActivity.Of(run, gate, running);
            var promised = Math.Max(activity is null ? run.TurnNumber : activity.TurnNumber, run.Queue.Count == 0 ? 0 : run.Queue.Max(q => q.TurnNumber));
            if (turnNumber > promised)
            {
                throw new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Turn not found", $"The run is at turn {run.TurnNumber} and no turn numbered {turnNumber} is running or queued.")
                    .With("current_turn", run.TurnNumber);
            }

            var left = deadline - clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return new TurnResult(run, turnNumber, null, activity);
            }

            // A commit here wakes the wait at once; one on another server is seen at the next look.
            await Task.WhenAny(committed, Task.Delay(left < Poll ? left : Poll, clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<TurnOutcome> ReadAsync(RunDocument run, int turnNumber, CancellationToken cancellationToken)
    {
        var record = (await runs.GetTurnsAsync(run.TenantId, run.Id, turnNumber - 1, 1, cancellationToken)).FirstOrDefault(t => t.TurnNumber == turnNumber)
            ?? throw new DomainException(ErrorKind.NotFound, ProblemCodes.TurnNotFound, "Turn not found", $"The run has no record of turn {turnNumber}.");
        if (record.Output["refusal"] is JsonObject refusal)
        {
            throw QueuedRefusal.ReadOutput(refusal);
        }

        var events = record.LastSeq < record.FirstSeq
            ? []
            : await runs.GetEventsAsync(run.TenantId, run.Id, record.FirstSeq - 1, checked((int)(record.LastSeq - record.FirstSeq + 1)), cancellationToken);
        var output = record.Output;
        var after = run with
        {
            Status = RunStatusNames.FromWire(output[TurnDocument.OutputStatus]!.GetValue<string>()),
            TurnNumber = turnNumber,
            Error = output[TurnDocument.OutputError]?.GetValue<string>(),
            WaitingHint = output[TurnDocument.OutputHint] as JsonObject,
        };
        return new TurnOutcome(after, events);
    }
}
