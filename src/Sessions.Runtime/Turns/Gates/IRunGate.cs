using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Turns.Gates;

/// <summary>
/// How the turns of one run are kept apart, chosen by the store provider: <see cref="InProcessRunGate"/> for a store
/// one server process owns (an embedded file: the process keeps turns apart in memory, and a turn costs one durable
/// write), <see cref="LeasedRunGate"/> for a store servers share (each turn leases its run in the store). The rest of
/// the runtime asks the gate and never asks which store it runs on.
/// </summary>
public interface IRunGate
{
    /// <summary>
    /// The owner of the turn working on <paramref name="run"/> now, or null: a turn in this process that has not
    /// committed yet, or, where servers share the store, the holder of a live lease.
    /// </summary>
    string? HolderOf(RunDocument run);

    /// <summary>
    /// Holds the run for a turn, or says why not (<see cref="HoldAttempt"/>). With nothing to hold (a new run, which
    /// nobody else can know; a finished one, whose turn is refused without writing) the hold only keeps the turn's
    /// idempotency key.
    /// </summary>
    Task<HoldAttempt> TryHoldAsync(RunDocument run, HoldTerms terms, CancellationToken cancellationToken);

    /// <summary>
    /// For a stop or an interrupt: cancels the turn of the run running in this process, if any, waits for it to let go
    /// (it commits nothing) and reserves the run for <paramref name="owner"/>. Returns the reservation and the owner of
    /// the cancelled turn, or nothing when none ran here. A turn on another server is taken over when the interrupting
    /// turn takes the run.
    /// </summary>
    Task<Interruption?> InterruptHereAsync(RunDocument run, string owner, CancellationToken cancellationToken);

    /// <summary>Claims an idempotency key for a request, or says why not: answered already, or in flight.</summary>
    Task<KeyState> ClaimKeyAsync(KeyClaim claim, CancellationToken cancellationToken);

    /// <summary>Lets go of a claim this gate keeps in memory, once its answer is stored or its turn wrote nothing.</summary>
    void LetGoOfKey(KeyClaim claim);
}

/// <summary>What a turn asks of the gate when it holds its run.</summary>
/// <param name="NothingToHold">A new run or a finished one: there is no run to hold, only the key.</param>
/// <param name="Preempt">A stop or an interrupt: a live lease of another server is taken over.</param>
/// <param name="LeaseLater">Where servers share the store: lease the run only before the turn first reaches outside the server.</param>
public sealed record HoldTerms(string Owner, KeyClaim? Claim, bool NothingToHold, bool Preempt, bool LeaseLater);

/// <summary>
/// A hold, or why there is none: another turn holds the run (no run given back), or the run moved on since it was read,
/// and then the run as the failed write found it comes back, for a turn that started from an old copy to start again from.
/// </summary>
public sealed record HoldAttempt(RunHold? Hold, RunDocument? Current);

/// <summary>A turn of the run cancelled here for a stop or an interrupt, and the run reserved for the turn that cancelled it.</summary>
public sealed record Interruption(string CancelledOwner, RunningTurn Reservation);
