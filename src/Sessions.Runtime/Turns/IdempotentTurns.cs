using System.Security.Cryptography;
using System.Text;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Turns under an `Idempotency-Key`: the first request with a key runs its turn and stores the answer with it; a retry
/// with the same request gets that answer again and runs nothing; the same key with another request is refused.
/// A request refused without writing gives its key back, so that a corrected retry runs.
/// </summary>
public sealed class IdempotentTurns(TurnPipeline turns, BackgroundTurns background, IdempotencyKeys keys, TurnAnswers answers, TimeProvider clock)
{
    public const int MaxKeyLength = 255;

    /// <summary>Printable ASCII without spaces, 1 to 255 characters: what UUIDs, ULIDs and random tokens look like.</summary>
    public static bool IsValidKey(string key) => key.Length is > 0 and <= MaxKeyLength && key.All(c => c is > ' ' and <= '~');

    /// <summary>The key as stored: the client's key under the principal that sent it (a separator no valid key contains).</summary>
    public static string ScopeKey(string principal, string key) => $"{principal}\n{key}";

    /// <summary>What "the same request" means: the same workflow, query and body bytes.</summary>
    public static string HashRequest(string workflowId, string? query, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{workflowId}\n{query}\n"));
        hash.AppendData(body);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public Task<IdempotentResult> ExecuteAsync(TurnRequest request, string key, string requestHash, CancellationToken cancellationToken, TurnObserver? observer = null) =>
        UnderKeyAsync(request, key, requestHash, async claim =>
        {
            var outcome = await turns.ExecuteAsync(request with { Idempotency = claim }, cancellationToken, observer);
            return new IdempotentResult(outcome, outcome.Answer!);
        },
        cancellationToken);

    /// <summary>Accepts a background turn under a key: a retry gets the same `202` answer, and nothing is queued twice.</summary>
    public Task<IdempotentResult> AcceptAsync(TurnRequest request, string key, string requestHash, CancellationToken cancellationToken)
    {
        return UnderKeyAsync(request, key, requestHash, async claim =>
        {
            string? answer = null;
            await background.AcceptAsync(request, accepted => keys.Answer(claim, answer = answers.WriteAccepted(accepted), accepted.RunId), cancellationToken);
            return new IdempotentResult(null, answer!) { IsReplay = false };
        },
        cancellationToken);
    }

    private async Task<IdempotentResult> UnderKeyAsync(TurnRequest request, string key, string requestHash, Func<KeyClaim, Task<IdempotentResult>> run, CancellationToken cancellationToken)
    {
        var held = await keys.ClaimAsync(request.TenantId, key, requestHash, cancellationToken);
        if (held.Status != KeyStatus.Claimed && held.RequestHash != requestHash)
        {
            throw new DomainException(
                ErrorKind.Unprocessable,
                ProblemCodes.IdempotencyKeyReused,
                "Idempotency key reused",
                "This Idempotency-Key was already used for a different request; use a new key for a new request.");
        }

        switch (held.Status)
        {
            case KeyStatus.Answered:
                return new IdempotentResult(null, held.Answer!) { IsReplay = true };

            case KeyStatus.InFlight:
                var wait = Math.Max(1, (int)Math.Ceiling((held.InFlightUntil!.Value - clock.GetUtcNow()).TotalSeconds));
                throw new DomainException(
                        ErrorKind.Conflict,
                        ProblemCodes.IdempotencyKeyInFlight,
                        "Request still in flight",
                        "A request with this Idempotency-Key is still running; retry after it answers to get its answer.")
                    .With("retry_after_seconds", wait);
        }

        var claim = held.Claim!;
        IdempotentResult result;
        try
        {
            result = await run(claim);
        }
        catch
        {
            await keys.ReleaseAsync(claim);
            throw;
        }

        keys.Committed(claim);
        return result;
    }
}

/// <summary>A turn run (or accepted) now, or the stored answer of one run before (<see cref="IsReplay"/>).</summary>
public sealed record IdempotentResult(TurnOutcome? Outcome, string Answer)
{
    public bool IsReplay { get; init; } = Outcome is null;
}
