using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

/// <summary>Reads `text/event-stream` messages one at a time.</summary>
public sealed class SseReader(Stream body) : IDisposable
{
    private readonly StreamReader reader = new(body);

    public sealed record Message(string? Id, string? Event, string Data)
    {
        public JsonNode Json => JsonNode.Parse(Data)!;
    }

    public async Task<Message?> NextAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        string? id = null, name = null;
        var data = new List<string>();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancel.Token);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    return new Message(id, name, string.Join('\n', data));
                }

                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    public void Dispose() => reader.Dispose();
}

public sealed class StreamingTests : IDisposable
{
    private readonly SessionsFactory factory = new(null, new() { ["Sessions:StreamPingSeconds"] = "0.2" });
    private readonly HttpClient client;

    public StreamingTests() => client = factory.CreateClient();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task A_streamed_turn_sends_each_event_with_its_seq_then_the_execute_answer()
    {
        using var response = await PostStreamAsync(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"name":"Ada"}}}""");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync());

        var streamed = new List<SseReader.Message>();
        SseReader.Message? message;
        while ((message = await sse.NextAsync()) is not null && message.Event != "result")
        {
            if (message.Event is null)
            {
                streamed.Add(message);
            }
        }

        Assert.NotNull(message);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => i.ToString()), streamed.Select(m => m.Id));
        Assert.Equal(streamed.Select(m => m.Json["seq"]!.ToString()), streamed.Select(m => m.Id));
        var result = message.Json.AsObject();
        Assert.Equal(("waiting_for_user_input", 1), (result["status"]!.GetValue<string>(), result["turn_number"]!.GetValue<int>()));
        Assert.Equal(["run_id", "status", "turn_number", "events", "is_waiting_for_input", "is_completed", "error", "next_input_hint"], result.Select(p => p.Key));
        Assert.Equal(streamed.Select(m => m.Data), result["events"]!.AsArray().Select(e => e!.ToJsonString()));

        // The result is exactly what execute answers: the run, read back, agrees event for event.
        var runId = result["run_id"]!.GetValue<string>();
        var events = await (await client.GetAsync($"/v1/runs/{runId}/events")).ReadObjectAsync();
        Assert.Equal(result["events"]!.ToJsonString(), events["events"]!.ToJsonString());
        Assert.Null(await sse.NextAsync());
    }

    [Fact]
    public async Task A_turn_refused_before_anything_happened_answers_its_problem_as_execute_does()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        using var response = await PostStreamAsync(SessionsFactory.OrderStatus, Body(runId, "12"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("invalid_reply", (await response.ReadObjectAsync())["code"]!.GetValue<string>());

        using var unknown = await PostStreamAsync("66a1f00000000000000000ff", "{}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_client_that_drops_mid_turn_reconnects_with_last_event_id_and_misses_nothing()
    {
        var runId = (await client.StartAsync(SessionsFactory.SupportTicket))["run_id"]!.GetValue<string>();
        foreach (var reply in new[] { "Ada Lovelace", "ada@example.com", "billing" })
        {
            await client.ReplyAsync(SessionsFactory.SupportTicket, runId, reply);
        }

        string lastSeen;
        using (var response = await PostStreamAsync(SessionsFactory.SupportTicket, Body(runId, "yes")))
        using (var sse = new SseReader(await response.Content.ReadAsStreamAsync()))
        {
            await sse.NextAsync();
            lastSeen = (await sse.NextAsync())!.Id!;
        }

        // The turn carried on without the client; wait until it is committed.
        JsonObject run;
        do
        {
            run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        }
        while (run["turn_number"]!.GetValue<int>() < 5);
        var lastSeq = run["turns"]!.AsArray()[^1]!["events"]!.AsArray()[^1]!["seq"]!.GetValue<long>();

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/runs/{runId}/events/stream");
        request.Headers.Add("Last-Event-ID", lastSeen);
        using var resumed = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var follow = new SseReader(await resumed.Content.ReadAsStreamAsync());
        var seqs = new List<long>();
        while (seqs.Count == 0 || seqs[^1] < lastSeq)
        {
            var message = (await follow.NextAsync())!;
            if (message.Event is null)
            {
                seqs.Add(long.Parse(message.Id!));
            }
        }

        var expected = Enumerable.Range((int)long.Parse(lastSeen) + 1, (int)(lastSeq - long.Parse(lastSeen))).Select(i => (long)i);
        Assert.Equal(expected, seqs);
    }

    [Fact]
    public async Task Following_a_run_shows_new_turns_live_pings_while_quiet_and_ends_when_it_ends()
    {
        var start = await client.StartAsync(SessionsFactory.OrderStatus);
        var runId = start["run_id"]!.GetValue<string>();
        var after = start["events"]!.AsArray()[^1]!["seq"]!.GetValue<long>();

        using var response = await client.GetAsync($"/v1/runs/{runId}/events/stream?after_seq={after}", HttpCompletionOption.ResponseHeadersRead);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("ping", (await sse.NextAsync())!.Event);
        Assert.Equal("ping", (await sse.NextAsync())!.Event);

        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "123456");
        var types = new List<string>();
        SseReader.Message? message;
        while ((message = await sse.NextAsync()) is not null && message.Event != "end")
        {
            if (message.Event is null)
            {
                Assert.Equal(after + types.Count + 1, long.Parse(message.Id!));
                types.Add(message.Json["type"]!.GetValue<string>());
            }
        }

        Assert.Equal("user_messages", types[0]);
        Assert.Equal("end_workflow", types[^1]);
        Assert.Equal("completed", message!.Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Following_a_finished_run_replays_and_ends_and_bad_ids_are_refused()
    {
        var runId = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, runId, "123456");
        using var response = await client.GetAsync($"/v1/runs/{runId}/events/stream", HttpCompletionOption.ResponseHeadersRead);
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
        var ids = new List<string?>();
        SseReader.Message? message;
        while ((message = await sse.NextAsync())!.Event != "end")
        {
            ids.Add(message.Id);
        }

        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => i.ToString()), ids);

        var bad = new HttpRequestMessage(HttpMethod.Get, $"/v1/runs/{runId}/events/stream");
        bad.Headers.Add("Last-Event-ID", "seven");
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(bad)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/runs/66a1f00000000000000000ff/events/stream")).StatusCode);
    }

    private static string Body(string runId, string message) =>
        new JsonObject { ["run_id"] = runId, ["run_input"] = new JsonObject { ["user_message"] = message } }.ToJsonString();

    private Task<HttpResponseMessage> PostStreamAsync(string workflowId, string body) =>
        client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflowId}/execute/stream") { Content = Http.Json(body) },
            HttpCompletionOption.ResponseHeadersRead);
}
