using System.Text;
using System.Text.Json.Nodes;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Recordings;

/// <summary>
/// Where a turn's nodes make their calls outside the server: each call is made (and kept, bounded, for the turn's
/// record) or, in a recorded replay, answered from the source run's recording of the same node's call in the same order,
/// as long as the request is the same. One per attempt at a turn; a `parallel` node's steps call through it at once.
/// </summary>
public sealed class CallLedger
{
    private readonly Lock gate = new();

    // Made on a turn's first call only: most turns call nothing outside, and every turn has a ledger.
    private List<RecordedCall>? made;
    private List<CallDivergence>? divergences;
    private Dictionary<string, int>? callsByNode;
    private readonly ReplayedCalls? replay;
    private readonly ReplayOptions options;
    private int fromRecording;
    private int live;

    public CallLedger(ReplayedCalls? replay, ReplayOptions options)
    {
        this.replay = replay;
        this.options = options;
    }

    /// <summary>Calls made live and kept nowhere: for a node run outside a turn (a fork asking its waiting node's question).</summary>
    public static CallLedger Unrecorded() => new(null, new ReplayOptions());

    /// <summary>
    /// Makes one call, or answers it from the recording. <paramref name="request"/> is what the node sends, rendered,
    /// with secrets by name only: what is compared with the recording and kept. <paramref name="call"/> makes it for real
    /// and returns the answer as JSON (the node turns it back into what it needs); a call that throws is kept as failed.
    /// </summary>
    public async Task<JsonObject> CallAsync(string nodeId, string kind, JsonObject request, Func<CancellationToken, Task<JsonObject>> call, CancellationToken cancellationToken)
    {
        int index;
        lock (gate)
        {
            callsByNode ??= new Dictionary<string, int>(StringComparer.Ordinal);
            index = callsByNode.GetValueOrDefault(nodeId);
            callsByNode[nodeId] = index + 1;
        }

        if (replay is { Source: CallSource.Recorded } recorded)
        {
            var source = recorded.Recorded.Where(c => c.NodeId == nodeId).ElementAtOrDefault(index);
            var (why, policy) = source switch
            {
                null => (CallDivergenceKinds.NotRecorded, recorded.OnChanged),
                _ when !JsonNode.DeepEquals(source.Request, request) => (CallDivergenceKinds.RequestChanged, recorded.OnChanged),
                { Truncated: true } => (CallDivergenceKinds.RecordingTruncated, options.TruncatedCalls),
                _ => ((string?)null, ChangedCallPolicy.Live),
            };
            if (why is null)
            {
                Keep(source! with { FromRecording = true }, fromRecording: true);
                return source!.Error is { } failed ? throw new RecordedCallFailedException(failed) : (JsonObject)source.Response!.DeepClone();
            }

            var divergence = new CallDivergence(why, nodeId, index, (JsonObject?)source?.Request.DeepClone(), (JsonObject)request.DeepClone(), policy);
            lock (gate)
            {
                (divergences ??= []).Add(divergence);
            }

            if (policy == ChangedCallPolicy.Stop)
            {
                throw new ReplayStoppedException(divergence);
            }
        }

        JsonObject answer;
        try
        {
            answer = await call(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Keep(new RecordedCall(nodeId, kind, (JsonObject)request.DeepClone(), null, ex.Message), fromRecording: false);
            throw;
        }

        var (kept, truncated) = Bounded(answer);
        Keep(new RecordedCall(nodeId, kind, (JsonObject)request.DeepClone(), kept, Truncated: truncated), fromRecording: false);
        return answer;
    }

    /// <summary>The calls this turn made or answered from a recording, in the order they were made; null when none.</summary>
    public IReadOnlyList<RecordedCall>? Made
    {
        get
        {
            lock (gate)
            {
                return made is null ? null : [.. made];
            }
        }
    }

    /// <summary>How this turn's calls went, for a replay's report.</summary>
    public CallReport Report()
    {
        lock (gate)
        {
            return made is null && divergences is null ? CallReport.None : new CallReport(fromRecording, live, [.. divergences ?? []]);
        }
    }

    private void Keep(RecordedCall call, bool fromRecording)
    {
        lock (gate)
        {
            (made ??= []).Add(call);
            if (fromRecording)
            {
                this.fromRecording++;
            }
            else
            {
                live++;
            }
        }
    }

    /// <summary>An answer as it is kept: whole, or its JSON's start up to the bound, with how large it was.</summary>
    private (JsonObject Kept, bool Truncated) Bounded(JsonObject answer)
    {
        // A called service's text may hold what no store keeps (a NUL): it is kept cleaned, as its variables would be.
        var keepable = (JsonObject)Keepable(answer)!;
        var text = keepable.ToJsonString(DocumentJson.Options);
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes <= options.MaxRecordedBytes)
        {
            return (keepable, false);
        }

        var start = text[..Math.Min(text.Length, options.MaxRecordedBytes)];
        while (Encoding.UTF8.GetByteCount(start) > options.MaxRecordedBytes)
        {
            start = start[..(start.Length * 9 / 10)];
        }

        if (start.Length > 0 && char.IsHighSurrogate(start[^1]))
        {
            start = start[..^1];
        }

        return (new JsonObject { ["start"] = start, ["bytes"] = bytes }, true);
    }

    private static JsonNode? Keepable(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Keepable(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(Keepable)]),
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => JsonValue.Create(JsonText.Keepable(value.GetValue<string>())),
        _ => node?.DeepClone(),
    };
}
