using System.Collections.Concurrent;

namespace Sessions.Runtime.Turns;

/// <summary>
/// Runs held by a turn in this process, for a store that one process owns: there the lease needs no durable write,
/// since no other process can take the run, and a process that dies takes its holds with it.
/// </summary>
public sealed class RunLocks
{
    private readonly ConcurrentDictionary<(string TenantId, string RunId), string> held = new();

    /// <summary>False when another turn holds the run now; a turn never waits for another.</summary>
    public bool TryEnter(string tenantId, string runId, string owner) => held.TryAdd((tenantId, runId), owner);

    public void Exit(string tenantId, string runId, string owner) => held.TryRemove(new KeyValuePair<(string, string), string>((tenantId, runId), owner));
}
