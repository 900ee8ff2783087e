using System.Net;
using System.Text.Json.Nodes;

namespace Sessions.Client.Tests;

/// <summary>
/// The client as a harness uses it, against the real server process: a conversation, a reply whose answer the network
/// lost (retried under its key, applied once), a stream cut mid-turn (taken up again, every event once), a run
/// followed across a cut, background turns, refusals as problems, and every read.
/// </summary>
public sealed class ClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private SessionsClient Client => fixture.Client;

    [Fact]
    public async Task A_conversation_runs_to_its_end_and_a_refused_reply_is_a_problem_that_changes_nothing()
    {
        var chat = await Client.StartAsync(ServerFixture.OrderStatus, new JsonObject { ["name"] = "Ada" });
        Assert.Equal((RunStatus.WaitingForUserInput, 1, "ask_order"), (chat.Status, chat.TurnNumber, chat.Hint!.NodeId));
        Assert.Equal(["Hi Ada!"], chat.Said);
        Assert.Equal("text", chat.Hint.Kind);

        var refused = await Assert.ThrowsAsync<SessionsProblemException>(() => chat.ReplyAsync("12"));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, ProblemCodes.InvalidReply), (refused.Status, refused.Code));
        Assert.Equal(1, (await Client.GetRunAsync(chat.RunId)).TurnNumber);

        await chat.ReplyAsync("654321");
        Assert.Equal((RunStatus.WaitingForUserInput, 2), (chat.Status, chat.TurnNumber));
        await chat.ReplyAsync("123456");
        Assert.Equal((RunStatus.Completed, 3, true), (chat.Status, chat.TurnNumber, chat.IsFinished));
        Assert.Equal(["Order 123456 has shipped."], chat.Said);

        // The reads: the run, its turns with their state, the transcript, the run list.
        var run = await Client.GetRunAsync(chat.RunId);
        Assert.Equal(("123456", 3), (run.Variables["order_id"]!.GetValue<string>(), run.Turns.Count));
        var turns = await Client.GetTurnsAsync(chat.RunId).ToListAsync();
        Assert.Equal([1, 2, 3], turns.Select(t => t.TurnNumber));
        var second = await Client.GetTurnAsync(chat.RunId, 2);
        Assert.Equal("654321", second.StateAfter!.Variables["order_id"]!.GetValue<string>());
        Assert.Equal(1, second.VariableChanges!.Changed["attempts"]!["after"]!.GetValue<int>());
        var transcript = await Client.GetTranscriptAsync(chat.RunId);
        Assert.Contains(transcript.Turns.SelectMany(t => t.Lines), l => l.Role == "user" && l.Text == "123456");
        Assert.Contains("123456", await Client.GetTranscriptMarkdownAsync(chat.RunId), StringComparison.Ordinal);
        Assert.Contains(await Client.ListRunsAsync(new RunFilter { WorkflowId = ServerFixture.OrderStatus, Statuses = [RunStatus.Completed] }).ToListAsync(), r => r.RunId == chat.RunId);
        Assert.True((await Client.GetWorkflowRunStatsAsync(ServerFixture.OrderStatus)).Counts["completed"] >= 1);
        var events = await Client.GetEventsAsync(chat.RunId).ToListAsync();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Seq));
    }

    [Fact]
    public async Task A_reply_whose_answer_the_network_lost_is_sent_again_under_its_key_and_applied_once()
    {
        var chat = await Client.StartAsync(ServerFixture.OrderStatus);
        fixture.Proxy.DropNext("/execute", Drop.TheAnswer);
        var seenBefore = fixture.Proxy.Seen.Count;

        var answer = await chat.ReplyAsync("123456");

        Assert.Equal((RunStatus.Completed, 2), (answer.Status, answer.TurnNumber));
        // Two requests reached the server (the first's answer was cut, the retry was answered from the key): one turn.
        Assert.Equal(2, fixture.Proxy.Seen.Skip(seenBefore).Count(s => s.StartsWith("POST /v1/workflows/", StringComparison.Ordinal)));
        var run = await Client.GetRunAsync(chat.RunId);
        Assert.Equal(2, run.TurnNumber);
        Assert.Single(await Client.GetEventsAsync(chat.RunId).ToListAsync(), e => e.Type == "user_messages");
    }

    [Fact]
    public async Task A_stream_cut_mid_turn_is_taken_up_again_and_every_event_arrives_once()
    {
        var chat = await Client.StartAsync(ServerFixture.OrderStatus);
        fixture.Proxy.DropNext("/execute/stream", Drop.AfterFirstEvent);
        var seenBefore = fixture.Proxy.Seen.Count;

        var updates = await chat.StreamAsync("123456").ToListAsync();

        // The first stream was cut after one event; the second, under the same key, brought the rest.
        Assert.Equal(2, fixture.Proxy.Seen.Skip(seenBefore).Count(s => s.EndsWith("/execute/stream", StringComparison.Ordinal)));

        var finished = Assert.IsType<TurnFinished>(updates[^1]);
        Assert.Equal(RunStatus.Completed, finished.Answer.Status);
        var streamed = updates.OfType<EventUpdate>().Select(u => u.Event.Seq).ToList();
        Assert.Equal(finished.Answer.Events.Select(e => e.Seq), streamed);
        Assert.Equal(RunStatus.Completed, chat.Status);
        Assert.Equal(2, (await Client.GetRunAsync(chat.RunId)).TurnNumber);
    }

    [Fact]
    public async Task A_followed_run_is_taken_up_again_after_a_cut_from_its_last_event()
    {
        var chat = await Client.StartAsync(ServerFixture.OrderStatus);
        await chat.ReplyAsync("123456");
        fixture.Proxy.DropNext("/events/stream", Drop.AfterFirstEvent);

        var followed = await Client.FollowEventsAsync(chat.RunId).ToListAsync();

        var stored = await Client.GetEventsAsync(chat.RunId).ToListAsync();
        Assert.Equal(stored.Select(e => e.Seq), followed.Select(e => e.Seq));
        Assert.Equal(2, fixture.Proxy.Seen.Count(s => s.Contains($"/v1/runs/{chat.RunId}/events/stream", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_background_reply_is_accepted_at_once_and_joined_for_the_answer_a_synchronous_one_gives()
    {
        var chat = await Client.StartAsync(ServerFixture.OrderStatus);
        var accepted = await chat.ReplyInBackgroundAsync("123456");
        Assert.Equal((RunStatus.Running, 2), (accepted.Status, accepted.TurnNumber));

        var answer = await chat.JoinAsync(accepted.TurnNumber);
        Assert.Equal((RunStatus.Completed, 2), (answer.Status, answer.TurnNumber));
        Assert.Equal(RunStatus.Completed, chat.Status);

        var first = await Client.StartInBackgroundAsync(ServerFixture.OrderStatus);
        var joined = await Client.JoinAsync(ServerFixture.OrderStatus, first);
        Assert.Equal((RunStatus.WaitingForUserInput, first.RunId, "ask_order"), (joined.Status, joined.RunId, joined.Hint!.NodeId));
        Assert.Equal(RunStatus.Completed, (await joined.JoinAsync(await joined.ReplyInBackgroundAsync("123456"))).Status);
    }

    [Fact]
    public async Task A_file_sent_with_a_reply_fills_the_ask_and_is_downloaded_as_it_was_sent()
    {
        var created = await Client.CreateWorkflowAsync(JsonNode.Parse("""
            { "name": "Client photo", "start": "photo", "nodes": [
              { "id": "photo", "type": "ask", "prompt": "A photo?", "variable": "photo", "input": { "kind": "file", "content_types": ["image/*"] }, "next": "done" },
              { "id": "done", "type": "end" } ] }
            """)!);
        var chat = await Client.StartAsync(created.WorkflowId);
        Assert.Equal("file", chat.Hint!.Kind);
        byte[] bytes = [0x89, 0x50, 0x4e, 0x47, 1, 2, 3];

        var refused = await Assert.ThrowsAsync<SessionsProblemException>(() => chat.ReplyWithFilesAsync(null, [new FileToSend("photo", "notes.txt", "text/plain", [65])]));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Status);
        var answer = await chat.ReplyWithFilesAsync(null, [new FileToSend("photo", "damage.png", "image/png", bytes)]);
        Assert.Equal(RunStatus.Completed, answer.Status);

        var photo = (await Client.GetRunAsync(chat.RunId)).Variables["photo"]!;
        Assert.Equal(("damage.png", 7), (photo["name"]!.GetValue<string>(), photo["size"]!.GetValue<int>()));
        await using var download = await Client.DownloadFileAsync(chat.RunId, photo["file_id"]!.GetValue<string>());
        using var copy = new MemoryStream();
        await download.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task Workflows_versions_fork_replay_cancel_and_batches_go_through_the_client()
    {
        var definition = JsonNode.Parse("""
            { "name": "Client greeter", "start": "ask", "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
              { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
              { "id": "done", "type": "end", "output": "{{name}}" } ] }
            """)!;
        var created = await Client.CreateWorkflowAsync(definition);
        Assert.Equal(0, created.VersionNumber);
        definition["nodes"]![1]!["text"] = "Farewell {{name}}";
        var added = await Client.AddVersionAsync(created.WorkflowId, definition, activate: false);
        Assert.Equal((1, 0), (added.VersionNumber, added.ActiveVersion));
        Assert.Equal("Farewell {{name}}", (await Client.GetVersionAsync(created.WorkflowId, 1)).Definition["nodes"]![1]!["text"]!.GetValue<string>());
        Assert.Contains("flowchart", await Client.GetDiagramAsync(created.WorkflowId, 0), StringComparison.Ordinal);
        Assert.Contains(await Client.ListWorkflowsAsync("Client greeter").ToListAsync(), w => w.WorkflowId == created.WorkflowId);

        var chat = await Client.StartAsync(created.WorkflowId);
        await chat.ReplyAsync("Ada");
        var replay = await Client.ReplayAsync(chat.RunId, versionNumber: 1);
        Assert.True(replay.Diverged);
        Assert.Equal(2, replay.FirstDivergentTurn);
        var fork = await Client.ForkAsync(chat.RunId, 1, versionNumber: 1);
        Assert.True(fork.IsWaitingForInput);

        Assert.Equal(1, (await Client.ActivateVersionAsync(created.WorkflowId, 1)).ActiveVersion);
        var waiting = await Client.StartAsync(created.WorkflowId);
        var cancelled = await Client.CancelRunsAsync(new CancelRunsRequest(RunIds: [waiting.RunId, fork.RunId]));
        Assert.All(cancelled.Results, r => Assert.Equal("cancelled", r.Outcome));

        var batch = await Client.CreateBatchAsync(created.WorkflowId, [new JsonObject { ["name"] = "x" }, new JsonObject { ["name"] = "y" }]);
        Assert.Equal(2, batch.Progress.Total);
        await Sessions.Testing.Eventually.TrueAsync(async () => (await Client.GetBatchAsync(batch.BatchId)).Status == "completed", "the batch finished");
        Assert.Equal([0, 1], (await Client.GetBatchResultsAsync(batch.BatchId).ToListAsync()).Select(i => i.Index));

        var missing = await Assert.ThrowsAsync<SessionsProblemException>(() => Client.GetRunAsync("0123456789abcdef01234567"));
        Assert.Equal((HttpStatusCode.NotFound, ProblemCodes.RunNotFound), (missing.Status, missing.Code));
    }

    [Fact]
    public async Task Recorded_replays_evaluations_and_the_activation_gate_go_through_the_client()
    {
        var definition = JsonNode.Parse("""
            { "name": "Gated greeter", "start": "ask", "evaluation_gate": { "max_diverged_percent": 0 }, "nodes": [
              { "id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "bye" },
              { "id": "bye", "type": "say", "text": "Bye {{name}}", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """)!;
        var created = await Client.CreateWorkflowAsync(definition);
        foreach (var name in new[] { "Ada", "Grace", "Edsger" })
        {
            await (await Client.StartAsync(created.WorkflowId)).ReplyAsync(name);
        }

        definition["nodes"]![1]!["text"] = "Farewell {{name}}";
        var changed = (await Client.AddVersionAsync(created.WorkflowId, definition, activate: false)).VersionNumber;
        var runs = await Client.ListRunsAsync(new RunFilter { WorkflowId = created.WorkflowId }).ToListAsync();
        var replay = await Client.ReplayAsync(runs[0].RunId, new ReplayRequest(changed, Calls: "recorded", OnChanged: "stop"));
        Assert.Equal(("recorded", "definition", 0), (replay.Calls, replay.Turns[1].Cause, replay.Turns[1].Calls.Live));

        var gated = await Assert.ThrowsAsync<SessionsProblemException>(() => Client.ActivateVersionAsync(created.WorkflowId, changed));
        Assert.Equal((HttpStatusCode.Conflict, ProblemCodes.EvaluationRequired), (gated.Status, gated.Code));

        var evaluation = await Client.CreateEvaluationAsync(created.WorkflowId, changed, new EvaluationRequest(Limit: 10));
        Assert.Equal(3, evaluation.Progress.Total);
        await Sessions.Testing.Eventually.TrueAsync(
            async () => (evaluation = await Client.GetEvaluationAsync(created.WorkflowId, changed, evaluation.EvaluationId)).Status == "completed",
            "the evaluation finished");
        Assert.Equal((3, 100.0), (evaluation.Summary!.Counts["diverged"], evaluation.Summary.DivergedPercent));
        Assert.All(evaluation.Results!, r => Assert.Equal(("diverged", 2), (r.Outcome, r.FirstDivergentTurn)));
        Assert.Equal(evaluation.EvaluationId, Assert.Single((await Client.ListEvaluationsAsync(created.WorkflowId)).Items).EvaluationId);

        var forced = await Client.ActivateVersionAsync(created.WorkflowId, changed, force: true);
        Assert.Equal(changed, Assert.Single(forced.ForcedActivations!).VersionNumber);
    }
}
