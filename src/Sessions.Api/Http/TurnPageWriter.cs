using System.Buffers;
using System.Text.Json;
using Sessions.Api.Contracts;
using Sessions.Runtime.Facade;
using Sessions.Runtime.History;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Api.Http;

/// <summary>
/// Writes a run read and a page of turns as JSON while the page is read from the store (<see cref="RunFacade.ReadTurnPageAsync"/>),
/// flushing through the response pipe as it goes: the pipe's backpressure holds the writer when the client reads
/// slowly, so a reader that stalls costs the events of one read and a pipe's buffer, never the page. The answer is the
/// same JSON the contract records (<see cref="RunDetailsResponse"/>, <see cref="TurnPageResponse"/>) describe: each is
/// serialized without its page, and the page is written in the place of its fields.
/// </summary>
public sealed class TurnPageWriter : ITurnPageSink, IAsyncDisposable
{
    /// <summary>What the writer gathers before it hands it to the pipe and waits for the pipe to take it.</summary>
    private const int FlushAtBytes = 16 * 1024;

    private readonly HttpResponse response;
    private readonly JsonSerializerOptions options;
    private readonly ArrayBufferWriter<byte> buffer = new(FlushAtBytes * 2);
    private readonly Utf8JsonWriter json;
    private readonly string runId;
    private long? lastSeq;

    private TurnPageWriter(HttpResponse response, JsonSerializerOptions options, string runId)
    {
        this.response = response;
        this.options = options;
        this.runId = runId;
        response.ContentType = "application/json; charset=utf-8";
        // Into a buffer of the writer's own, reused for every event and copied into the pipe's pooled blocks: writing a
        // long text straight into the pipe would have it allocate a segment of the text's worst case (up to eighteen
        // bytes a character) for each event.
        json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, MaxDepth = options.MaxDepth });
    }

    /// <summary>`GET /v1/runs/{run_id}`: the run, then the first page of its turns and the node executions of those turns.</summary>
    public static async Task WriteRunAsync(HttpResponse response, JsonSerializerOptions options, RunFacade runs, RunDetails details, CancellationToken cancellationToken)
    {
        var run = details.Run;
        await using var writer = new TurnPageWriter(response, options, run.Id);
        TurnPageEnd? end = null;
        await writer.WriteObjectAsync(
            RunDetailsResponse.Head(details),
            name => name switch
            {
                nameof(RunDetailsResponse.Turns) => async () => end = await writer.WriteTurnsAsync(t => runs.ReadTurnPageAsync(run, -1, RunFacade.DefaultTurnsPerPage, t, cancellationToken)),
                nameof(RunDetailsResponse.NextTurns) => writer.Value(() => TurnPageResponse.NextPage(writer.runId, end!, RunFacade.DefaultTurnsPerPage)),
                nameof(RunDetailsResponse.NodeExecutions) => writer.Value(() => end!.NodeExecutions.Select(NodeExecutionContract.From).ToList()),
                _ => null,
            },
            cancellationToken);
    }

    /// <summary>`GET /v1/runs/{run_id}/turns`: a page of turns after <paramref name="afterTurn"/>.</summary>
    public static async Task WriteTurnsAsync(HttpResponse response, JsonSerializerOptions options, RunFacade runs, RunDocument run, int afterTurn, int limit, CancellationToken cancellationToken)
    {
        await using var writer = new TurnPageWriter(response, options, run.Id);
        TurnPageEnd? end = null;
        await writer.WriteObjectAsync(
            new TurnPageResponse(run.Id, [], false, null),
            name => name switch
            {
                nameof(TurnPageResponse.Turns) => async () => end = await writer.WriteTurnsAsync(t => runs.ReadTurnPageAsync(run, afterTurn, limit, t, cancellationToken)),
                nameof(TurnPageResponse.HasMore) => writer.Value(() => end!.HasMore),
                nameof(TurnPageResponse.Next) => writer.Value(() => TurnPageResponse.NextPage(run.Id, end!, limit)),
                _ => null,
            },
            cancellationToken);
    }

    public async ValueTask TurnAsync(TurnDocument turn, CancellationToken cancellationToken)
    {
        lastSeq = null;
        json.WriteStartObject();
        foreach (var property in Template(TurnContract.Head(turn)).EnumerateObject())
        {
            if (property.NameEquals(Name(nameof(TurnContract.Events))))
            {
                json.WriteStartArray(property.Name);
                break;
            }

            property.WriteTo(json);
        }

        await FlushAsync(cancellationToken);
    }

    public async ValueTask EventAsync(RunEvent e, CancellationToken cancellationToken)
    {
        JsonSerializer.Serialize(json, EventContract.From(e), options);
        lastSeq = e.Seq;
        if (json.BytesPending + buffer.WrittenCount >= FlushAtBytes)
        {
            await FlushAsync(cancellationToken);
        }
    }

    public async ValueTask TurnEndAsync(TurnDocument turn, bool eventsComplete, CancellationToken cancellationToken)
    {
        json.WriteEndArray();
        json.WriteBoolean(Name(nameof(TurnContract.EventsComplete)), eventsComplete);
        json.WritePropertyName(Name(nameof(TurnContract.MoreEvents)));
        Write(TurnContract.MoreEventsLink(runId, turn, eventsComplete, lastSeq));
        json.WriteEndObject();
        await FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await json.DisposeAsync();
    }

    /// <summary>
    /// The contract's own serialization of <paramref name="head"/>, property by property, with the value of each property
    /// <paramref name="written"/> names written by the task it gives instead.
    /// </summary>
    private async Task WriteObjectAsync<T>(T head, Func<string, Func<Task>?> written, CancellationToken cancellationToken)
    {
        var byName = typeof(T).GetProperties().Select(p => p.Name).Where(n => written(n) is not null).ToDictionary(Name);
        json.WriteStartObject();
        foreach (var property in Template(head).EnumerateObject())
        {
            if (byName.TryGetValue(property.Name, out var member))
            {
                json.WritePropertyName(property.Name);
                await written(member)!();
            }
            else
            {
                property.WriteTo(json);
            }
        }

        json.WriteEndObject();
        await FlushAsync(cancellationToken);
    }

    private async Task<TurnPageEnd> WriteTurnsAsync(Func<ITurnPageSink, Task<TurnPageEnd>> read)
    {
        json.WriteStartArray();
        var end = await read(this);
        json.WriteEndArray();
        return end;
    }

    private void Write<T>(T value) => JsonSerializer.Serialize(json, value, options);

    /// <summary>Writes the value <paramref name="value"/> gives once the writer reaches it: after the page, for what the page decides.</summary>
    private Func<Task> Value<T>(Func<T> value) => () =>
    {
        Write(value());
        return Task.CompletedTask;
    };

    private JsonElement Template<T>(T value) => JsonSerializer.SerializeToElement(value, options);

    private string Name(string member) => options.PropertyNamingPolicy?.ConvertName(member) ?? member;

    /// <summary>Hands what is written to the response pipe, and waits while the client has not taken what came before.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        json.Flush();
        await response.BodyWriter.WriteAsync(buffer.WrittenMemory, cancellationToken);
        buffer.ResetWrittenCount();
    }
}
