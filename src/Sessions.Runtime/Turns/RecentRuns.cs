using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Turns;

/// <summary>
/// The runs this server committed last, as the JSON it committed, so that the next turn of a conversation starts
/// without reading its run back: a turn that stays in memory is then one write and no read, and one that leases its
/// run (on a shared store) starts with the lease write. Kept as text, not objects, so that every turn gets its own copy.
/// A copy may be stale where servers share the store; the version check of the commit or of the lease write finds that
/// out, and the turn then starts again from the run as stored (<see cref="TurnPipeline"/>). On a store one process owns, every write of an existing
/// run goes through the engine, which keeps this up to date or forgets the run.
/// </summary>
public sealed class RecentRuns(IOptions<TurnOptions> options)
{
    private readonly ConcurrentDictionary<(string TenantId, string RunId), string> documents = new();
    private readonly ConcurrentQueue<(string TenantId, string RunId)> order = new();
    private long characters;

    /// <summary>A copy of the run as this server last committed it, with the JSON that commit stored.</summary>
    public (RunDocument Run, string Json)? TryGet(string tenantId, string runId) =>
        documents.TryGetValue((tenantId, runId), out var json) ? (JsonSerializer.Deserialize<RunDocument>(json, DocumentJson.Options)!, json) : null;

    /// <summary>
    /// Remembers the run as just committed; the oldest entries go once they hold more than the configured size. Never
    /// throws: it is called after a commit, when nothing may fail the request any more.
    /// </summary>
    /// <param name="json">The run as its commit stored it (<see cref="TurnCommit.RunJson"/>).</param>
    public void Remember(RunDocument run, string json)
    {
        var budget = (long)options.Value.RecentRunsMegabytes * 1024 * 1024;
        if (json.Length > budget / 16)
        {
            Forget(run.TenantId, run.Id);
            return;
        }

        // Not AddOrUpdate: its factories may run more than once, and these have side effects (the queue, the size).
        var key = (run.TenantId, run.Id);
        while (true)
        {
            if (documents.TryGetValue(key, out var old))
            {
                if (documents.TryUpdate(key, json, old))
                {
                    Interlocked.Add(ref characters, json.Length - old.Length);
                    break;
                }
            }
            else if (documents.TryAdd(key, json))
            {
                order.Enqueue(key);
                Interlocked.Add(ref characters, json.Length);
                break;
            }
        }

        while (Interlocked.Read(ref characters) > budget && order.TryDequeue(out var oldest))
        {
            Forget(oldest.TenantId, oldest.RunId);
        }

        // Runs forgotten otherwise (finished, refused) leave their place in the queue behind: drop those now and then,
        // so that the queue stays the size of what is remembered.
        if (order.Count > (2 * documents.Count) + 1024 && Monitor.TryEnter(order))
        {
            try
            {
                var seen = new HashSet<(string, string)>();
                for (var pending = order.Count; pending > 0 && order.TryDequeue(out var queued); pending--)
                {
                    if (documents.ContainsKey(queued) && seen.Add(queued))
                    {
                        order.Enqueue(queued);
                    }
                }
            }
            finally
            {
                Monitor.Exit(order);
            }
        }
    }

    /// <summary>How many places the eviction queue holds (for tests: it must not outgrow what is remembered).</summary>
    internal int QueuedKeys => order.Count;

    public void Forget(string tenantId, string runId)
    {
        if (documents.TryRemove((tenantId, runId), out var old))
        {
            Interlocked.Add(ref characters, -old.Length);
        }
    }
}
