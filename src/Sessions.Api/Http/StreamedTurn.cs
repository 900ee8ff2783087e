using System.Threading.Channels;
using Sessions.Runtime.Facade;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Turns;

namespace Sessions.Api.Http;

/// <summary>
/// A turn taken for a stream, whatever the stream's protocol (execute's, LangGraph's, the AI SDK's): it runs detached
/// from the request, so that once accepted it runs to its end whether or not the client stays, and its events and a
/// model's partial text are handed to the stream's writer in order as they come, with a call while nothing comes.
/// </summary>
public static class StreamedTurn
{
    /// <summary>Takes the turn; completes with what came of it once every event and delta has been written.</summary>
    /// <param name="onEvent">An event as it is recorded (kept only if the turn commits).</param>
    /// <param name="onDelta">A piece of what a model is writing for a node; never stored.</param>
    /// <param name="onQuiet">Called after <paramref name="quiet"/> without either, for a keep-alive.</param>
    public static async Task<TurnTaken> TakeAsync(
        RunFacade runs, TurnCall call, TimeSpan quiet, Func<RunEvent, Task> onEvent, Func<string, string, Task> onDelta, Func<Task> onQuiet)
    {
        var produced = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var observer = new TurnObserver
        {
            OnEvent = e => produced.Writer.TryWrite(e),
            OnDelta = (nodeId, text) => produced.Writer.TryWrite(new Delta(nodeId, text)),
        };

        var running = Task.Run(() => runs.TakeTurnAsync(call with { InBackground = false, Observer = observer }, CancellationToken.None));
        _ = running.ContinueWith(_ => produced.Writer.TryComplete(), TaskScheduler.Default);
        while (true)
        {
            var ready = produced.Reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(ready, Task.Delay(quiet)) != ready)
            {
                await onQuiet();
                continue;
            }

            if (!await ready)
            {
                break;
            }

            while (produced.Reader.TryRead(out var item))
            {
                await (item is Delta delta ? onDelta(delta.NodeId, delta.Text) : onEvent((RunEvent)item));
            }
        }

        return await running;
    }

    private sealed record Delta(string NodeId, string Text);
}
