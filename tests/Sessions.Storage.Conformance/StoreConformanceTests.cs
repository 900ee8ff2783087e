using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Batches;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Values;
using Sessions.Runtime.Webhooks;
using Sessions.Testing;

namespace Sessions.Storage.Conformance;

/// <summary>
/// What the runtime relies on from a store, written against the ports only. A provider passes by subclassing this
/// with a way to open a fresh, initialised store; a subclass for a store whose server this machine may not have is
/// marked <see cref="NeedsServerAttribute"/>, and its tests are then reported as skipped, never as passed.
/// </summary>
public abstract class StoreConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    protected IWorkflowStore Workflows { get; set; } = null!;

    protected IRunStore Runs { get; set; } = null!;

    protected IStoreLifecycle Lifecycle { get; set; } = null!;

    protected IIdempotencyStore Keys { get; set; } = null!;

    protected IWebhookStore Deliveries { get; set; } = null!;

    protected IFileStore Files { get; set; } = null!;

    protected IBatchStore Batches { get; set; } = null!;

    protected IConversationStore Conversations { get; set; } = null!;

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    [ServerFact]
    public async Task Initialising_twice_is_harmless()
    {
        await Lifecycle.InitializeAsync(CancellationToken.None);
        await Lifecycle.CheckAsync(CancellationToken.None);
    }

    [ServerFact]
    public async Task A_conversation_name_is_taken_once_per_tenant_and_protocol_and_read_only_there()
    {
        var name = NewId();
        var first = new ConversationLink("t1", ConversationProtocols.LangGraph, name, name, new JsonObject { ["topic"] = "billing", ["n"] = 1.50m }, "ana", T0, T0);
        Assert.Equal(Shape(first), Shape(await Conversations.AddAsync(first, default)));

        // A second claim of the name gets the first link, not its own.
        var second = first with { RunId = NewId(), CreatedBy = "bob", Metadata = [], CreatedAt = T0.AddMinutes(1) };
        Assert.Equal(Shape(first), Shape(await Conversations.AddAsync(second, default)));
        Assert.Equal(Shape(first), Shape(await Conversations.GetAsync("t1", ConversationProtocols.LangGraph, name, default)));

        // Another tenant, another protocol: other names.
        Assert.Null(await Conversations.GetAsync("t2", ConversationProtocols.LangGraph, name, default));
        Assert.Null(await Conversations.GetAsync("t1", ConversationProtocols.AiSdk, name, default));
        var chat = first with { Protocol = ConversationProtocols.AiSdk, RunId = NewId() };
        Assert.Equal(chat.RunId, (await Conversations.AddAsync(chat, default)).RunId);
        Assert.False(await Conversations.SetMetadataAsync("t2", ConversationProtocols.LangGraph, name, [], T0, default));
        Assert.False(await Conversations.DeleteAsync("t2", ConversationProtocols.LangGraph, name, default));

        Assert.True(await Conversations.SetMetadataAsync("t1", ConversationProtocols.LangGraph, name, new JsonObject { ["topic"] = "refunds" }, T0.AddHours(1), default));
        var updated = (await Conversations.GetAsync("t1", ConversationProtocols.LangGraph, name, default))!;
        Assert.Equal(("""{"topic":"refunds"}""", T0, T0.AddHours(1)), (updated.Metadata.ToJsonString(), updated.CreatedAt, updated.UpdatedAt));

        Assert.True(await Conversations.DeleteAsync("t1", ConversationProtocols.LangGraph, name, default));
        Assert.False(await Conversations.DeleteAsync("t1", ConversationProtocols.LangGraph, name, default));
        Assert.Null(await Conversations.GetAsync("t1", ConversationProtocols.LangGraph, name, default));
        Assert.NotNull(await Conversations.GetAsync("t1", ConversationProtocols.AiSdk, name, default));
    }

    [ServerFact]
    public async Task Conversations_list_newest_first_by_their_maker_and_go_with_their_runs()
    {
        var tenant = $"t-{NewId()}";
        var links = Enumerable.Range(0, 5)
            .Select(i => new ConversationLink(tenant, ConversationProtocols.LangGraph, NewId(), NewId(), [], i % 2 == 0 ? "ana" : "bob", T0.AddSeconds(i), T0.AddSeconds(i)))
            .ToList();
        foreach (var link in links)
        {
            await Conversations.AddAsync(link, default);
        }

        await Conversations.AddAsync(links[0] with { TenantId = "elsewhere" }, default);
        Assert.Equal(links.Select(l => l.ExternalId).Reverse(), (await Conversations.ListAsync(tenant, ConversationProtocols.LangGraph, null, 0, 10, default)).Select(l => l.ExternalId));
        Assert.Equal([links[3].ExternalId, links[2].ExternalId], (await Conversations.ListAsync(tenant, ConversationProtocols.LangGraph, null, 1, 2, default)).Select(l => l.ExternalId));
        Assert.Equal([links[4].ExternalId, links[2].ExternalId, links[0].ExternalId], (await Conversations.ListAsync(tenant, ConversationProtocols.LangGraph, "ana", 0, 10, default)).Select(l => l.ExternalId));
        Assert.Empty(await Conversations.ListAsync(tenant, ConversationProtocols.AiSdk, null, 0, 10, default));

        Assert.Equal(2, await Conversations.DeleteForRunsAsync(tenant, [links[1].RunId, links[3].RunId, NewId()], default));
        Assert.Equal(0, await Conversations.DeleteForRunsAsync("another", [links[0].RunId], default));
        Assert.Equal(3, (await Conversations.ListAsync(tenant, ConversationProtocols.LangGraph, null, 0, 10, default)).Count);
        Assert.NotNull(await Conversations.GetAsync("elsewhere", ConversationProtocols.LangGraph, links[0].ExternalId, default));
    }

    [ServerFact]
    public async Task A_workflow_is_created_once_and_read_only_by_its_tenant()
    {
        var id = NewId();
        Assert.True(await Workflows.CreateAsync(Workflow(id, "t1"), Version(id, "t1", 0), default));
        Assert.False(await Workflows.CreateAsync(Workflow(id, "t1"), Version(id, "t1", 0), default));

        Assert.Equal("Flow", (await Workflows.GetAsync("t1", id, default))!.Name);
        Assert.Null(await Workflows.GetAsync("t2", id, default));
        Assert.Null(await Workflows.GetVersionAsync("t2", id, 0, default));
        Assert.Empty(await Workflows.ListVersionsAsync("t2", id, default));
        Assert.Null(await Workflows.AddVersionAsync("t2", id, new NewWorkflowVersion("x", null, "{}", T0), true, default));
    }

    [ServerFact]
    public async Task Versions_are_numbered_in_order_even_when_added_at_once()
    {
        var id = NewId();
        await Workflows.CreateAsync(Workflow(id, "t1"), Version(id, "t1", 0), default);
        var added = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            Workflows.AddVersionAsync("t1", id, new NewWorkflowVersion($"v{i}", null, $$"""{"n":{{i}}}""", T0.AddMinutes(i)), activate: i % 2 == 0, default))));

        Assert.Equal(Enumerable.Range(1, 8), added.Select(w => w!.LatestVersion).Order());
        var versions = await Workflows.ListVersionsAsync("t1", id, default);
        Assert.Equal(Enumerable.Range(0, 9), versions.Select(v => v.VersionNumber));
        var workflow = await Workflows.GetAsync("t1", id, default);
        Assert.Equal(8, workflow!.LatestVersion);
    }

    [ServerFact]
    public async Task Adding_an_inactive_version_keeps_the_active_one_and_its_name()
    {
        var id = NewId();
        await Workflows.CreateAsync(Workflow(id, "t1"), Version(id, "t1", 0), default);
        var updated = await Workflows.AddVersionAsync("t1", id, new NewWorkflowVersion("Renamed", "new", """{"name":"Renamed"}""", T0), activate: false, default);
        Assert.Equal((0, 1, "Flow", "desc"), (updated!.ActiveVersion, updated.LatestVersion, updated.Name, updated.Description));
        var activated = await Workflows.AddVersionAsync("t1", id, new NewWorkflowVersion("Renamed", "new", """{"name":"Renamed"}""", T0), activate: true, default);
        Assert.Equal((2, 2, "Renamed", "new"), (activated!.ActiveVersion, activated.LatestVersion, activated.Name, activated.Description));
        Assert.Equal("""{"name":"Renamed"}""", (await Workflows.GetVersionAsync("t1", id, 1, default))!.DefinitionJson);
    }

    [ServerFact]
    public async Task Activating_a_stored_version_makes_it_active_with_its_name_and_keeps_the_latest()
    {
        var id = NewId();
        await Workflows.CreateAsync(Workflow(id, "t1"), Version(id, "t1", 0), default);
        await Workflows.AddVersionAsync("t1", id, new NewWorkflowVersion("Later", "newer", """{"name":"Later","description":"newer"}""", T0), activate: false, default);
        var later = (await Workflows.GetVersionAsync("t1", id, 1, default))!;

        var activated = await Workflows.ActivateAsync("t1", id, later, T0.AddHours(1), default);
        Assert.Equal((1, 1, "Later", "newer", T0.AddHours(1)), (activated!.ActiveVersion, activated.LatestVersion, activated.Name, activated.Description, activated.UpdatedAt));
        var stored = (await Workflows.GetAsync("t1", id, default))!;
        Assert.Equal((1, "Later", "newer"), (stored.ActiveVersion, stored.Name, stored.Description));

        Assert.Null(await Workflows.ActivateAsync("t2", id, later, T0, default));
        Assert.Equal(1, (await Workflows.GetAsync("t1", id, default))!.ActiveVersion);
    }

    [ServerFact]
    public async Task Workflows_list_newest_first_with_paging_and_a_total()
    {
        var tenant = $"list-{Guid.NewGuid():n}";
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = NewId();
            ids.Add(id);
            await Workflows.CreateAsync(Workflow(id, tenant) with { CreatedAt = T0.AddMinutes(i) }, Version(id, tenant, 0), default);
        }

        var first = await Workflows.ListAsync(tenant, new WorkflowQuery { Page = 1, Limit = 2 }, default);
        var last = await Workflows.ListAsync(tenant, new WorkflowQuery { Page = 3, Limit = 2 }, default);
        var beyond = await Workflows.ListAsync(tenant, new WorkflowQuery { Page = 4, Limit = 2 }, default);
        Assert.Equal(5, first.Total);
        Assert.Equal([ids[4], ids[3]], first.Items.Select(w => w.Id));
        Assert.Equal([ids[0]], last.Items.Select(w => w.Id));
        Assert.Empty(beyond.Items);
    }

    [ServerFact]
    public async Task A_new_run_commits_once_and_round_trips_as_a_document()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 3), default);
        await Assert.ThrowsAsync<StoreConflictException>(() => Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 3), default));

        var stored = await Runs.GetAsync("t1", run.Id, default);
        Assert.NotNull(stored);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(run, DocumentJson.Options),
            System.Text.Json.JsonSerializer.Serialize(stored, DocumentJson.Options));
        Assert.Null(await Runs.GetAsync("t2", run.Id, default));
    }

    [ServerFact]
    public async Task An_update_from_a_stale_version_is_refused_and_writes_nothing()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 2), default);
        var winner = run with { Version = 2, TurnNumber = 2, LastSeq = 4, Status = RunStatus.Completed };
        await Runs.CommitTurnAsync(Commit(winner, expected: 1, firstSeq: 3, count: 2), default);

        var loser = run with { Version = 2, TurnNumber = 2, LastSeq = 5, Status = RunStatus.Failed };
        await Assert.ThrowsAsync<StoreConflictException>(() => Runs.CommitTurnAsync(Commit(loser, expected: 1, firstSeq: 3, count: 3), default));

        Assert.Equal(RunStatus.Completed, (await Runs.GetAsync("t1", run.Id, default))!.Status);
        Assert.Equal(4, (await Runs.GetEventsAsync("t1", run.Id, 0, 100, default)).Count);
        Assert.Equal(2, (await Runs.GetAllTurnsAsync("t1", run.Id, default)).Count);
    }

    [ServerFact]
    public async Task Concurrent_commits_from_one_version_apply_exactly_one()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                await Runs.CommitTurnAsync(Commit(run with { Version = 2, TurnNumber = 2, LastSeq = 3, RunBy = $"writer-{i}" }, expected: 1, firstSeq: 2, count: 2), default);
                return true;
            }
            catch (StoreConflictException)
            {
                return false;
            }
        })));

        Assert.Equal(1, attempts.Count(applied => applied));
        Assert.Equal([1L, 2, 3], (await Runs.GetEventsAsync("t1", run.Id, 0, 100, default)).Select(e => e.Seq));
    }

    [ServerFact]
    public async Task Events_page_by_seq_and_keep_their_fields()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 10), default);
        var page = await Runs.GetEventsAsync("t1", run.Id, afterSeq: 3, limit: 4, default);
        Assert.Equal([4L, 5, 6, 7], page.Select(e => e.Seq));
        Assert.Equal(RunEventType.SayStatic, page[0].Type);
        Assert.Equal("n4", page[0].NodeId);
        Assert.Equal("line 4", Assert.IsType<Said>(page[0].Payload).Text);

        // A field the record does not declare (written by a newer server, say) reads back, and is written again, as it was.
        Assert.Equal("""{"text":"line 4","n":4}""", EventCatalogue.FieldsObject(page[0].Payload).ToJsonString());
        Assert.Equal(T0.AddSeconds(4), page[0].Timestamp);
        Assert.Empty(await Runs.GetEventsAsync("t1", run.Id, afterSeq: 10, limit: 4, default));
        Assert.Empty(await Runs.GetEventsAsync("t2", run.Id, afterSeq: 0, limit: 4, default));
    }

    [ServerFact]
    public async Task Turns_keep_their_input_and_output()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 2), default);
        var turn = Assert.Single(await Runs.GetAllTurnsAsync("t1", run.Id, default));
        Assert.Equal("""{"user_message":"hi"}""", turn.Input.ToJsonString());
        Assert.Equal("""{"status":"waiting_for_user_input"}""", turn.Output.ToJsonString());
        Assert.Equal((1L, 2L), (turn.FirstSeq, turn.LastSeq));
        Assert.Empty(await Runs.GetAllTurnsAsync("t2", run.Id, default));
    }

    [ServerFact]
    public async Task Turns_read_a_page_at_a_time_in_turn_order()
    {
        var run = Run(NewId(), version: 1);
        for (var turn = 1; turn <= 5; turn++)
        {
            var at = run with { TurnNumber = turn, Version = turn, LastSeq = turn * 2 };
            await Runs.CommitTurnAsync(Commit(at, expected: turn - 1, firstSeq: turn * 2 - 1, count: 2), default);
        }

        Assert.Equal([1, 2], (await Runs.GetTurnsAsync("t1", run.Id, -1, 2, default)).Select(t => t.TurnNumber));
        Assert.Equal([3, 4], (await Runs.GetTurnsAsync("t1", run.Id, 2, 2, default)).Select(t => t.TurnNumber));
        Assert.Equal([5], (await Runs.GetTurnsAsync("t1", run.Id, 4, 2, default)).Select(t => t.TurnNumber));
        Assert.Empty(await Runs.GetTurnsAsync("t1", run.Id, 5, 2, default));
        Assert.Empty(await Runs.GetTurnsAsync("t2", run.Id, -1, 2, default));
        Assert.Equal(5, (await Runs.GetAllTurnsAsync("t1", run.Id, default)).Count);
    }

    [ServerFact]
    public async Task A_turn_keeps_the_run_as_it_left_it()
    {
        var run = Run(NewId(), version: 1);
        var commit = Commit(run, expected: 0, firstSeq: 1, count: 1);
        await Runs.CommitTurnAsync(commit with { Turn = commit.Turn! with { StateAfter = run } }, default);
        var turn = Assert.Single(await Runs.GetAllTurnsAsync("t1", run.Id, default));

        // By value, not as text: a provider may keep documents in a form that orders or spaces them its own way.
        Assert.True(JsonNode.DeepEquals(
            System.Text.Json.JsonSerializer.SerializeToNode(run, DocumentJson.Options),
            System.Text.Json.JsonSerializer.SerializeToNode(turn.StateAfter, DocumentJson.Options)));
    }

    [ServerFact]
    public async Task A_turn_keeps_what_it_changed_instead_of_a_snapshot()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        var changes = new JsonObject
        {
            ["variables"] = new JsonObject { ["set"] = new JsonObject { ["n"] = 1.5m, ["deep"] = new JsonObject { ["list"] = new JsonArray(1, "two", null) } }, ["removed"] = new JsonArray("gone") },
            ["set"] = new JsonObject { ["turn_number"] = 2, ["error"] = null },
        };
        var next = run with { Version = 2, TurnNumber = 2, LastSeq = 2 };
        var commit = Commit(next, expected: 1, firstSeq: 2, count: 1);
        await Runs.CommitTurnAsync(commit with { Turn = commit.Turn! with { Changes = changes } }, default);
        var turn = (await Runs.GetAllTurnsAsync("t1", run.Id, default)).Single(t => t.TurnNumber == 2);
        Assert.Null(turn.StateAfter);
        Assert.True(JsonNode.DeepEquals(changes, turn.Changes), turn.Changes?.ToJsonString());
    }

    [ServerFact]
    public async Task A_turn_keeps_the_calls_its_nodes_made_in_order_for_recorded_replays()
    {
        var run = Run(NewId(), version: 1);
        Sessions.Runtime.Recordings.RecordedCall[] calls =
        [
            new("chat", "llm", new JsonObject { ["model"] = "m", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "héllo \"quoted\"" }) },
                new JsonObject { ["text"] = "hi", ["input_tokens"] = 3 }),
            new("lookup", "http", new JsonObject { ["method"] = "GET", ["url"] = "https://x.example/{{secrets.key}}", ["body"] = null }, null, Error: "timed out"),
            new("lookup", "http", new JsonObject { ["method"] = "GET" }, new JsonObject { ["start"] = "{\"status\":20", ["bytes"] = 99999 }, Truncated: true, FromRecording: true),
        ];
        var commit = Commit(run, expected: 0, firstSeq: 1, count: 1);
        await Runs.CommitTurnAsync(commit with { Turn = commit.Turn! with { Calls = calls } }, default);
        var turn = Assert.Single(await Runs.GetAllTurnsAsync("t1", run.Id, default));
        Assert.Equal(
            System.Text.Json.JsonSerializer.SerializeToNode(calls, DocumentJson.Options)!.ToJsonString(),
            System.Text.Json.JsonSerializer.SerializeToNode(turn.Calls, DocumentJson.Options)!.ToJsonString());

        var next = run with { Version = 2, TurnNumber = 2, LastSeq = 2 };
        await Runs.CommitTurnAsync(Commit(next, expected: 1, firstSeq: 2, count: 1), default);
        Assert.Null((await Runs.GetAllTurnsAsync("t1", run.Id, default)).Single(t => t.TurnNumber == 2).Calls);
    }

    [ServerFact]
    public async Task Runs_list_newest_first_with_every_filter_paging_and_a_total()
    {
        var tenant = $"runs-{Guid.NewGuid():n}";
        var orders = NewId();
        var tickets = NewId();
        await Workflows.CreateAsync(Workflow(orders, tenant) with { Name = "Order status" }, Version(orders, tenant, 0), default);
        await Workflows.CreateAsync(Workflow(tickets, tenant) with { Name = "Support 100%_done" }, Version(tickets, tenant, 0), default);
        var runs = new List<RunDocument>();
        for (var i = 0; i < 6; i++)
        {
            var run = Run(NewId(), version: 1) with
            {
                TenantId = tenant,
                WorkflowId = i % 2 == 0 ? orders : tickets,
                Status = i < 4 ? RunStatus.WaitingForUserInput : RunStatus.Completed,
                RunBy = i % 3 == 0 ? "ada" : "bob",
                CreatedAt = T0.AddMinutes(i),
            };
            runs.Add(run);
            await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        }

        async Task<List<string>> Ids(RunQuery query) => (await Runs.ListAsync(tenant, query, default)).Items.Select(r => r.Run.Id).ToList();
        string[] Pick(params int[] indexes) => indexes.Select(i => runs[i].Id).ToArray();

        var all = await Runs.ListAsync(tenant, new RunQuery { Limit = 100 }, default);
        Assert.Equal(6, all.Total);
        Assert.Equal(Pick(5, 4, 3, 2, 1, 0), all.Items.Select(r => r.Run.Id));
        Assert.Equal("Support 100%_done", all.Items[0].WorkflowName);
        Assert.Equal(Pick(4, 2, 0), await Ids(new RunQuery { WorkflowId = orders }));
        Assert.Equal(Pick(5, 4), await Ids(new RunQuery { Statuses = [RunStatus.Completed] }));
        Assert.Equal(Pick(5, 4, 3, 2, 1, 0), await Ids(new RunQuery { Statuses = [RunStatus.Completed, RunStatus.WaitingForUserInput] }));
        Assert.Equal(Pick(3, 0), await Ids(new RunQuery { RunBy = "ada" }));
        Assert.Equal(Pick(3, 2), await Ids(new RunQuery { CreatedFrom = T0.AddMinutes(2), CreatedTo = T0.AddMinutes(4) }));
        Assert.Equal(Pick(4, 2, 0), await Ids(new RunQuery { WorkflowNameContains = "ORDER" }));
        Assert.Equal(Pick(5, 3, 1), await Ids(new RunQuery { WorkflowNameContains = "100%_" }));
        Assert.Empty(await Ids(new RunQuery { WorkflowNameContains = "1000" }));
        Assert.Equal(Pick(3, 2), await Ids(new RunQuery { Page = 2, Limit = 2 }));
        var beyond = await Runs.ListAsync(tenant, new RunQuery { Page = 4, Limit = 2 }, default);
        Assert.Empty(beyond.Items);
        Assert.Equal(6, beyond.Total);
        Assert.Equal(0, (await Runs.ListAsync("someone-else", new RunQuery(), default)).Total);

        var counts = await Runs.CountByStatusAsync(tenant, new RunQuery(), default);
        Assert.Equal((4L, 2L, 0L), (counts[RunStatus.WaitingForUserInput], counts[RunStatus.Completed], counts[RunStatus.Failed]));
        var ofOrders = await Runs.CountByStatusAsync(tenant, new RunQuery { WorkflowId = orders }, default);
        Assert.Equal((2L, 1L), (ofOrders[RunStatus.WaitingForUserInput], ofOrders[RunStatus.Completed]));
        Assert.Equal(Enum.GetValues<RunStatus>().Length, ofOrders.Count);

        // Counts follow every filter of the list, as the list's total does (paging aside).
        foreach (var filter in new[]
        {
            new RunQuery { RunBy = "ada" },
            new RunQuery { CreatedFrom = T0.AddMinutes(2), CreatedTo = T0.AddMinutes(4) },
            new RunQuery { WorkflowNameContains = "100%_" },
            new RunQuery { Statuses = [RunStatus.Completed] },
        })
        {
            var filtered = await Runs.CountByStatusAsync(tenant, filter, default);
            Assert.Equal((await Runs.ListAsync(tenant, filter with { Limit = 100 }, default)).Total, filtered.Values.Sum());
        }
    }

    [ServerFact]
    public async Task A_run_is_replaced_only_at_the_version_it_was_read_at_and_keeps_its_lease()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 2), default);
        var leased = run with { Version = 2, Lease = new TurnLease("owner-a", T0.AddSeconds(30)) };

        // Not written: the run as it is stored comes back instead, by value (null where the tenant has no such run).
        var stale = await Runs.TryReplaceAsync(leased, expectedVersion: 2, WriteDurability.Provisional, default);
        Assert.False(stale.Written);
        Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(run, DocumentJson.Options), JsonSerializer.SerializeToNode(stale.Current, DocumentJson.Options)));
        Assert.Equal(new ReplaceResult(false, null), await Runs.TryReplaceAsync(leased with { TenantId = "t2" }, expectedVersion: 1, WriteDurability.Provisional, default));
        Assert.Equal(new ReplaceResult(false, null), await Runs.TryReplaceAsync(leased with { Id = NewId() }, expectedVersion: 1, WriteDurability.Provisional, default));
        Assert.True((await Runs.TryReplaceAsync(leased, expectedVersion: 1, WriteDurability.Provisional, default)).Written);
        var lost = await Runs.TryReplaceAsync(leased with { Lease = new TurnLease("owner-b", T0.AddSeconds(60)) }, expectedVersion: 1, WriteDurability.Provisional, default);
        Assert.Equal((false, leased.Lease, 2L), (lost.Written, lost.Current!.Lease, lost.Current.Version));
        var stored = (await Runs.GetAsync("t1", run.Id, default))!;
        Assert.Equal((2L, leased.Lease), (stored.Version, stored.Lease));

        // A turn that read the run before the lease was taken cannot commit over it; one at the leased version can.
        var next = run with { Version = 3, TurnNumber = 2, LastSeq = 3 };
        await Assert.ThrowsAsync<StoreConflictException>(() => Runs.CommitTurnAsync(Commit(next with { Version = 2 }, expected: 1, firstSeq: 3, count: 1), default));
        Assert.Equal(2, (await Runs.GetEventsAsync("t1", run.Id, 0, 100, default)).Count);
        await Runs.CommitTurnAsync(Commit(next, expected: 2, firstSeq: 3, count: 1), default);
        stored = (await Runs.GetAsync("t1", run.Id, default))!;
        Assert.Equal((3L, null, 2), (stored.Version, stored.Lease, stored.TurnNumber));
    }

    [ServerFact]
    public async Task Replacements_racing_from_one_version_apply_exactly_once()
    {
        var run = Run(NewId(), version: 1);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        var written = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            Runs.TryReplaceAsync(run with { Version = 2, Lease = new TurnLease($"owner-{i}", T0.AddSeconds(30)) }, expectedVersion: 1, WriteDurability.Provisional, default))));
        Assert.Single(written, w => w.Written);
        var owner = (await Runs.GetAsync("t1", run.Id, default))!.Lease!.Owner;
        Assert.Equal($"owner-{Array.FindIndex(written, w => w.Written)}", owner);
        Assert.All(written.Where(w => !w.Written), w => Assert.Equal(owner, w.Current!.Lease!.Owner));
    }

    [ServerFact]
    public async Task An_idempotency_key_is_written_once_then_only_at_its_version_and_scoped_by_tenant()
    {
        var key = $"key-{Guid.NewGuid():n}";
        var claimed = new IdempotencyRecord("t1", key, "hash-1", 1, new TurnLease("owner-a", T0.AddSeconds(30)), null, T0.AddHours(24), T0);

        Assert.Null(await Keys.GetAsync("t1", key, default));
        Assert.True(await Keys.TryWriteAsync(claimed, expectedVersion: 0, default));
        Assert.False(await Keys.TryWriteAsync(claimed with { RequestHash = "hash-2" }, expectedVersion: 0, default));
        Assert.Equal(claimed, await Keys.GetAsync("t1", key, default));
        Assert.Null(await Keys.GetAsync("t2", key, default));
        Assert.True(await Keys.TryWriteAsync(claimed with { TenantId = "t2" }, expectedVersion: 0, default));

        var renewed = claimed with { Version = 2, Lease = new TurnLease("owner-a", T0.AddSeconds(60)) };
        Assert.False(await Keys.TryWriteAsync(renewed, expectedVersion: 2, default));
        Assert.True(await Keys.TryWriteAsync(renewed, expectedVersion: 1, default));
        Assert.False(await Keys.TryWriteAsync(renewed with { Version = 3 }, expectedVersion: 1, default));
        Assert.Equal(renewed, await Keys.GetAsync("t1", key, default));

        Assert.False(await Keys.TryDeleteAsync("t1", key, expectedVersion: 1, default));
        Assert.True(await Keys.TryDeleteAsync("t1", key, expectedVersion: 2, default));
        Assert.Null(await Keys.GetAsync("t1", key, default));
        Assert.NotNull(await Keys.GetAsync("t2", key, default));
    }

    [ServerFact]
    public async Task A_turn_stores_its_answer_under_its_key_or_is_refused_whole_when_the_key_moved_on()
    {
        var key = $"key-{Guid.NewGuid():n}";
        var claimed = new IdempotencyRecord("t1", key, "hash-1", 1, new TurnLease("owner-a", T0.AddSeconds(30)), null, T0.AddHours(24), T0);
        await Keys.TryWriteAsync(claimed, 0, default);

        // Another request took the key over (version 2): this turn's commit, expecting version 1, writes nothing at all.
        await Keys.TryWriteAsync(claimed with { Version = 2, Lease = new TurnLease("owner-b", T0.AddSeconds(90)) }, 1, default);
        var run = Run(NewId(), version: 1);
        var answered = claimed with { Version = 2, Lease = null, Answer = """{"run_id":"x"}""" };
        await Assert.ThrowsAsync<StoreConflictException>(() => Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1) with { Answer = new IdempotentAnswer(answered, 1) }, default));
        Assert.Null(await Runs.GetAsync("t1", run.Id, default));
        Assert.Empty(await Runs.GetEventsAsync("t1", run.Id, 0, 10, default));

        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1) with { Answer = new IdempotentAnswer(answered with { Version = 3 }, 2) }, default);
        Assert.Equal(answered with { Version = 3 }, await Keys.GetAsync("t1", key, default));

        // A key never claimed in the store (a process that owns its store holds claims in memory) is inserted by the commit.
        var fresh = answered with { Key = $"key-{Guid.NewGuid():n}", Version = 1 };
        await Runs.CommitTurnAsync(Commit(Run(NewId(), version: 1), expected: 0, firstSeq: 1, count: 1) with { Answer = new IdempotentAnswer(fresh, 0) }, default);
        Assert.Equal(fresh, await Keys.GetAsync("t1", fresh.Key, default));
    }

    [ServerFact]
    public async Task Keys_past_their_retention_are_purged_at_the_time_given()
    {
        var tenant = $"purge-{Guid.NewGuid():n}";
        var old = new IdempotencyRecord(tenant, "old", "h", 1, null, "{}", T0.AddHours(1), T0);
        var young = old with { Key = "young", RetainUntil = T0.AddHours(3) };
        await Keys.TryWriteAsync(old, 0, default);
        await Keys.TryWriteAsync(young, 0, default);
        Assert.True(await Keys.PurgeExpiredAsync(T0.AddHours(2), default) >= 1);
        Assert.Null(await Keys.GetAsync(tenant, "old", default));
        Assert.NotNull(await Keys.GetAsync(tenant, "young", default));
    }

    [ServerFact]
    public async Task Inactive_runs_are_listed_across_tenants_oldest_first_by_status()
    {
        var stamp = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var old = Run(NewId(), version: 1) with { UpdatedAt = stamp, TenantId = "t7" };
        var older = Run(NewId(), version: 1) with { UpdatedAt = stamp.AddDays(-1) };
        var paused = Run(NewId(), version: 1) with { UpdatedAt = stamp, Status = RunStatus.Paused };
        var recent = Run(NewId(), version: 1) with { UpdatedAt = stamp.AddDays(2) };
        foreach (var run in new[] { old, older, paused, recent })
        {
            await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        }

        var found = await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput, RunStatus.Running], stamp.AddDays(1), 10, default);
        Assert.Equal([older.Id, old.Id], found.Select(r => r.Id));
        Assert.Single(await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput], stamp.AddDays(1), 1, default));

        // Exactly at the time asked: a run changed in the same hour (PostgreSQL keys the reaper's index on the hour) is
        // listed only when it changed before that time.
        var late = Run(NewId(), version: 1) with { UpdatedAt = stamp.AddDays(-5).AddMinutes(59), TenantId = "t8" };
        await Runs.CommitTurnAsync(Commit(late, expected: 0, firstSeq: 1, count: 1), default);
        var ids = (await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput], stamp.AddDays(-5).AddMinutes(30), 10, default)).Select(r => r.Id);
        Assert.DoesNotContain(late.Id, ids);
        ids = (await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput], late.UpdatedAt.AddMilliseconds(1), 10, default)).Select(r => r.Id);
        Assert.Contains(late.Id, ids);
        Assert.DoesNotContain(late.Id, (await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput], late.UpdatedAt, 10, default)).Select(r => r.Id));
    }

    [ServerFact]
    public async Task Due_timers_are_listed_across_tenants_earliest_first_and_leave_with_the_turn_that_clears_them()
    {
        var due = T0.AddTicks(1234567);
        RunDocument WithTimer(DateTimeOffset at, string tenant) =>
            Run(NewId(), version: 1) with { TenantId = tenant, Timer = new RunTimer(at, RunTimerKind.WaitTimeout, "ask", "nudge") };
        var first = WithTimer(due, "t1");
        var second = WithTimer(due.AddTicks(1), "t8");
        var later = WithTimer(due.AddHours(1), "t1");
        var none = Run(NewId(), version: 1);
        foreach (var run in new[] { later, second, first, none })
        {
            await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        }

        Assert.Empty(await Runs.ListDueWorkAsync(due.AddTicks(-1), 10, default));
        Assert.Equal([first.Id], (await Runs.ListDueWorkAsync(due, 10, default)).Select(r => r.Id));
        var both = await Runs.ListDueWorkAsync(due.AddMinutes(1), 10, default);
        Assert.Equal([first.Id, second.Id], both.Select(r => r.Id));
        Assert.Equal(first.Timer, both[0].Timer);
        Assert.Single(await Runs.ListDueWorkAsync(due.AddMinutes(1), 1, default));

        // The turn that takes the run next clears its timer (a lease write keeps it: the wait is not over).
        Assert.True((await Runs.TryReplaceAsync(second with { Version = 2, Lease = new TurnLease("o", T0) }, 1, WriteDurability.Provisional, default)).Written);
        Assert.Equal(2, (await Runs.ListDueWorkAsync(due.AddMinutes(1), 10, default)).Count);
        await Runs.CommitTurnAsync(Commit(first with { Version = 2, TurnNumber = 2, LastSeq = 3, Timer = null }, expected: 1, firstSeq: 3, count: 1), default);
        Assert.Equal([second.Id, later.Id], (await Runs.ListDueWorkAsync(due.AddDays(1), 10, default)).Select(r => r.Id));
    }

    [ServerFact]
    public async Task A_run_is_found_by_every_label_of_its_first_turn_and_only_by_all_of_them()
    {
        var tenant = $"labels-{Guid.NewGuid():n}";
        var workflowId = NewId();
        await Workflows.CreateAsync(Workflow(workflowId, tenant), Version(workflowId, tenant, 0), default);
        var labelled = Run(NewId(), version: 1) with
        {
            TenantId = tenant,
            WorkflowId = workflowId,
            Metadata = new JsonObject { ["tier"] = "gold", ["seats"] = 5 },
            OriginReference = "order-1",
        };
        var other = labelled with { Id = NewId(), Metadata = new JsonObject { ["tier"] = "silver" }, OriginReference = null };
        await Runs.CommitTurnAsync(Commit(labelled, expected: 0, firstSeq: 1, count: 1), default);
        await Runs.CommitTurnAsync(Commit(other, expected: 0, firstSeq: 1, count: 1), default);

        async Task<string[]> FindAsync(params string[] labels) =>
            (await Runs.ListAsync(tenant, new RunQuery { Labels = labels }, default)).Items.Select(s => s.Run.Id).Order().ToArray();
        Assert.Equal([labelled.Id], await FindAsync("metadata.tier=gold"));
        Assert.Equal([labelled.Id], await FindAsync("metadata.seats=5", "origin_reference=order-1"));
        Assert.Equal([other.Id], await FindAsync("metadata.tier=silver"));
        Assert.Empty(await FindAsync("metadata.tier=gold", "metadata.tier=silver"));
        Assert.Equal(2, (await FindAsync()).Length);
        Assert.Equal(1, (await Runs.CountByStatusAsync(tenant, new RunQuery { Labels = ["origin_reference=order-1"] }, default)).Values.Sum());
        Assert.Empty((await Runs.ListAsync("another-tenant", new RunQuery { Labels = ["metadata.tier=gold"] }, default)).Items);

        // Read back as written.
        var stored = (await Runs.GetAsync(tenant, labelled.Id, default))!;
        Assert.True(JsonNode.DeepEquals(labelled.Metadata, stored.Metadata));
        Assert.Equal("order-1", stored.OriginReference);
    }

    [ServerFact]
    public async Task Runs_waiting_for_people_are_counted_by_tenant_workflow_and_status_and_due_work_is_counted()
    {
        // A workflow id of this test's own: other tests' runs share the store.
        var workflow = NewId();
        var due = T0.AddYears(-3);
        var dueBefore = await Runs.CountDueWorkAsync(due, default);
        RunDocument Of(string tenant, RunStatus status) => Run(NewId(), version: 1) with { TenantId = tenant, WorkflowId = workflow, Status = status };
        var runs = new[]
        {
            Of("t1", RunStatus.WaitingForUserInput), Of("t1", RunStatus.WaitingForUserInput), Of("t1", RunStatus.Paused),
            Of("t9", RunStatus.WaitingForUserInput), Of("t1", RunStatus.Completed), Of("t1", RunStatus.Running),
            Of("t1", RunStatus.WaitingForUserInput) with { DeletedAt = T0 },
            Of("t1", RunStatus.WaitingForUserInput) with { Timer = new RunTimer(due, RunTimerKind.WaitTimeout, "ask", "nudge") },
        };
        foreach (var run in runs)
        {
            await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1), default);
        }

        var counted = (await Runs.CountWaitingAsync(default)).Where(c => c.WorkflowId == workflow);
        Assert.Equal(
            [new RunCount("t1", workflow, RunStatus.Paused, 1), new RunCount("t1", workflow, RunStatus.WaitingForUserInput, 3), new RunCount("t9", workflow, RunStatus.WaitingForUserInput, 1)],
            counted.OrderBy(c => c.TenantId, StringComparer.Ordinal).ThenBy(c => c.Status.ToWire(), StringComparer.Ordinal));
        Assert.Equal(dueBefore + 1, await Runs.CountDueWorkAsync(due, default));
        Assert.Equal(dueBefore, await Runs.CountDueWorkAsync(due.AddTicks(-1), default));
    }

    [ServerFact]
    public async Task A_background_turn_is_accepted_without_a_turn_record_and_is_due_at_once_before_any_timer()
    {
        var accepted = T0.AddTicks(7654321);
        var queued = new QueuedTurn(NewId(), 1, new JsonObject { ["user_message"] = "hi" }, "ana", accepted);
        var run = Run(NewId(), version: 1) with
        {
            TenantId = $"queue-{Guid.NewGuid():n}",
            Queue = [queued],
            Timer = new RunTimer(accepted.AddDays(30), RunTimerKind.Resume, "pause", "next"),
        };

        // Accepting a turn writes the run and nothing else: no event, no turn record.
        await Runs.CommitTurnAsync(new TurnCommit(run, 0, [], null), default);
        Assert.Empty(await Runs.GetAllTurnsAsync(run.TenantId, run.Id, default));
        var stored = await Runs.GetAsync(run.TenantId, run.Id, default);
        Assert.Equal(queued.Id, Assert.Single(stored!.Queue).Id);
        Assert.True(JsonNode.DeepEquals(queued.Input, stored.Queue[0].Input));
        Assert.Equal(accepted, stored.Queue[0].AcceptedAt);

        Assert.DoesNotContain(run.Id, (await Runs.ListDueWorkAsync(accepted.AddTicks(-1), 1000, default)).Select(r => r.Id));
        Assert.Contains(run.Id, (await Runs.ListDueWorkAsync(accepted, 1000, default)).Select(r => r.Id));

        // The turn that runs it takes it off the queue; then only the timer is due, at its own time.
        await Runs.CommitTurnAsync(Commit(run with { Version = 2, TurnNumber = 1, Queue = [] }, expected: 1, firstSeq: 1, count: 1), default);
        Assert.DoesNotContain(run.Id, (await Runs.ListDueWorkAsync(accepted.AddDays(1), 1000, default)).Select(r => r.Id));
        Assert.Contains(run.Id, (await Runs.ListDueWorkAsync(accepted.AddDays(30), 1000, default)).Select(r => r.Id));
    }

    [ServerFact]
    public async Task Deliveries_come_with_their_turn_are_due_in_order_and_change_only_at_their_version()
    {
        var run = Run(NewId(), version: 1) with { TenantId = $"hooks-{Guid.NewGuid():n}" };
        var due = T0.AddTicks(1234567);
        WebhookDelivery Delivery(DateTimeOffset at) => new()
        {
            Id = NewId(), TenantId = run.TenantId, RunId = run.Id, WorkflowId = run.WorkflowId, Url = "https://example.com/hook", SecretName = "hook",
            TurnNumber = 1, Status = RunStatus.WaitingForUserInput, OccurredAt = T0, Data = """{"run_id":"x"}""",
            State = DeliveryState.Pending, Version = 1, DueAt = at, GiveUpAt = T0.AddDays(1),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        var first = Delivery(due);
        var second = Delivery(due.AddTicks(1));
        var dueBefore = await Deliveries.CountDueAsync(due.AddTicks(1), default);
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1) with { Deliveries = [second, first] }, default);
        Assert.Equal(dueBefore + 2, await Deliveries.CountDueAsync(due.AddTicks(1), default));
        Assert.Equal(first.TraceParent, (await Deliveries.GetAsync(run.TenantId, first.Id, default))!.TraceParent);

        // A commit refused whole leaves no delivery behind.
        var refused = Delivery(due);
        await Assert.ThrowsAsync<StoreConflictException>(() => Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1) with { Deliveries = [refused] }, default));
        Assert.Null(await Deliveries.GetAsync(run.TenantId, refused.Id, default));

        Assert.DoesNotContain(await Deliveries.ListDueAsync(due.AddTicks(-1), 10, default), d => d.RunId == run.Id);
        Assert.Equal([first.Id, second.Id], (await Deliveries.ListDueAsync(due.AddTicks(1), 10, default)).Where(d => d.RunId == run.Id).Select(d => d.Id));
        Assert.Equal(Shape(first), Shape(await Deliveries.GetAsync(run.TenantId, first.Id, default)));
        Assert.Null(await Deliveries.GetAsync("another-tenant", first.Id, default));

        var claimed = first with { Version = 2, ClaimedBy = "server-a", DueAt = due.AddMinutes(1) };
        Assert.True(await Deliveries.TryReplaceAsync(claimed, 1, default));
        Assert.False(await Deliveries.TryReplaceAsync(first with { Version = 2, ClaimedBy = "server-b" }, 1, default));
        Assert.Equal([second.Id], (await Deliveries.ListDueAsync(due.AddSeconds(1), 10, default)).Where(d => d.RunId == run.Id).Select(d => d.Id));
        Assert.Equal(dueBefore + 1, await Deliveries.CountDueAsync(due.AddTicks(1), default));

        var delivered = claimed with { Version = 3, ClaimedBy = null, State = DeliveryState.Delivered, Attempts = [new DeliveryAttempt(due, 204, 12.5, null)] };
        Assert.True(await Deliveries.TryReplaceAsync(delivered, 2, default));
        Assert.DoesNotContain((await Deliveries.ListDueAsync(due.AddDays(2), 10, default)), d => d.Id == first.Id);
        Assert.Equal([Shape(delivered), Shape(second)], (await Deliveries.ListForRunAsync(run.TenantId, run.Id, default)).OrderBy(d => d.Id == first.Id ? 0 : 1).Select(Shape));
        Assert.Empty(await Deliveries.ListForRunAsync("another-tenant", run.Id, default));
    }

    [ServerFact]
    public async Task A_deleted_workflow_leaves_lists_unless_asked_for_and_names_match_as_plain_text()
    {
        var tenant = $"wf-delete-{Guid.NewGuid():n}";
        var (kept, gone, percent) = (NewId(), NewId(), NewId());
        await Workflows.CreateAsync(Workflow(kept, tenant) with { Name = "Order status" }, Version(kept, tenant, 0), default);
        await Workflows.CreateAsync(Workflow(gone, tenant) with { Name = "Old ORDER flow", CreatedAt = T0.AddMinutes(1) }, Version(gone, tenant, 0), default);
        await Workflows.CreateAsync(Workflow(percent, tenant) with { Name = "100% refunds", CreatedAt = T0.AddMinutes(2) }, Version(percent, tenant, 0), default);

        var deleted = await Workflows.DeleteAsync(tenant, gone, T0.AddHours(1), default);
        Assert.Equal(T0.AddHours(1), deleted!.DeletedAt);
        Assert.Equal(T0.AddHours(1), (await Workflows.DeleteAsync(tenant, gone, T0.AddHours(2), default))!.DeletedAt);
        Assert.Null(await Workflows.DeleteAsync("another-tenant", kept, T0, default));
        Assert.Equal(T0.AddHours(1), (await Workflows.GetAsync(tenant, gone, default))!.DeletedAt);

        async Task<string[]> ListAsync(WorkflowQuery query) => (await Workflows.ListAsync(tenant, query, default)).Items.Select(w => w.Id).ToArray();
        Assert.Equal([percent, kept], await ListAsync(new WorkflowQuery()));
        Assert.Equal([percent, gone, kept], await ListAsync(new WorkflowQuery { IncludeDeleted = true }));
        Assert.Equal([kept], await ListAsync(new WorkflowQuery { NameContains = "order" }));
        Assert.Equal([gone, kept], await ListAsync(new WorkflowQuery { NameContains = "ORDER", IncludeDeleted = true }));
        Assert.Equal([percent], await ListAsync(new WorkflowQuery { NameContains = "0%" }));
        Assert.Empty(await ListAsync(new WorkflowQuery { NameContains = "_" }));
        Assert.Equal(1, (await Workflows.ListAsync(tenant, new WorkflowQuery { NameContains = "order" }, default)).Total);
    }

    [ServerFact]
    public async Task Deleted_runs_leave_lists_counts_and_sweeps_unless_asked_for()
    {
        var tenant = $"run-delete-{Guid.NewGuid():n}";
        var workflowId = NewId();
        await Workflows.CreateAsync(Workflow(workflowId, tenant), Version(workflowId, tenant, 0), default);
        var stamp = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var kept = Run(NewId(), version: 1) with { TenantId = tenant, WorkflowId = workflowId, UpdatedAt = stamp };
        var gone = kept with { Id = NewId() };
        await Runs.CommitTurnAsync(Commit(kept, expected: 0, firstSeq: 1, count: 1), default);
        await Runs.CommitTurnAsync(Commit(gone, expected: 0, firstSeq: 1, count: 1), default);
        var deleted = gone with { Version = 2, DeletedAt = T0.AddTicks(1234567) };
        Assert.True((await Runs.TryReplaceAsync(deleted, 1, WriteDurability.Durable, default)).Written);

        Assert.Equal([kept.Id], (await Runs.ListAsync(tenant, new RunQuery(), default)).Items.Select(s => s.Run.Id));
        Assert.Equal(1, (await Runs.ListAsync(tenant, new RunQuery(), default)).Total);
        Assert.Equal(2, (await Runs.ListAsync(tenant, new RunQuery { IncludeDeleted = true }, default)).Total);
        Assert.Equal(1, (await Runs.CountByStatusAsync(tenant, new RunQuery(), default)).Values.Sum());
        Assert.Equal(2, (await Runs.CountByStatusAsync(tenant, new RunQuery { IncludeDeleted = true }, default)).Values.Sum());
        Assert.DoesNotContain(await Runs.ListInactiveAsync([RunStatus.WaitingForUserInput], stamp.AddDays(1), 1000, default), r => r.Id == gone.Id);

        // The store keeps it, exactly, for whoever may still read it.
        Assert.Equal(Shape(deleted), Shape(await Runs.GetAsync(tenant, gone.Id, default)));
    }

    [ServerFact]
    public async Task A_purge_erases_a_run_with_everything_stored_for_it_and_only_at_its_version()
    {
        var tenant = $"purge-runs-{Guid.NewGuid():n}";
        var workflowId = NewId();
        await Workflows.CreateAsync(Workflow(workflowId, tenant), Version(workflowId, tenant, 0), default);
        var expires = T0.AddDays(30).AddTicks(7);
        var expired = Run(NewId(), version: 1) with
        {
            TenantId = tenant, WorkflowId = workflowId, Status = RunStatus.Completed, ExpiresAt = expires, OriginReference = "order-9",
        };
        var deletedAt = T0.AddDays(1).AddTicks(3);
        var deleted = expired with { Id = NewId(), ExpiresAt = null, DeletedAt = deletedAt };
        var kept = expired with { Id = NewId(), ExpiresAt = null };
        foreach (var run in new[] { expired, deleted, kept })
        {
            var key = new IdempotencyRecord(tenant, $"key-{run.Id}", "h", 1, null, "{}", T0.AddDays(90), T0) { RunId = run.Id };
            var delivery = new WebhookDelivery
            {
                Id = NewId(), TenantId = tenant, RunId = run.Id, WorkflowId = workflowId, Url = "https://example.com/hook", TurnNumber = 1,
                Status = RunStatus.Completed, OccurredAt = T0, State = DeliveryState.Delivered, Version = 1, DueAt = T0, GiveUpAt = T0.AddDays(1),
            };
            await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 2) with { Answer = new IdempotentAnswer(key, 0), Deliveries = [delivery] }, default);
        }

        async Task<string[]> DueAsync(DateTimeOffset expiredBy, DateTimeOffset deletedBy) =>
            (await Runs.ListPurgeableAsync(null, expiredBy, deletedBy, 1000, default)).Where(r => r.TenantId == tenant).Select(r => r.Id).Order().ToArray();
        Assert.Empty(await DueAsync(expires.AddTicks(-1), deletedAt.AddTicks(-1)));
        Assert.Equal([expired.Id], await DueAsync(expires, deletedAt.AddTicks(-1)));
        Assert.Equal(new[] { expired.Id, deleted.Id }.Order(), await DueAsync(expires, deletedAt));

        // Asked for one tenant, only that tenant's runs are listed, however many of others are due.
        var neighbour = $"purge-neighbour-{Guid.NewGuid():n}";
        await Runs.CommitTurnAsync(Commit(deleted with { Id = NewId(), TenantId = neighbour }, expected: 0, firstSeq: 1, count: 1), default);
        Assert.Equal(new[] { expired.Id, deleted.Id }.Order(), (await Runs.ListPurgeableAsync(tenant, expires, deletedAt, 1000, default)).Select(r => r.Id).Order());
        Assert.All(await Runs.ListPurgeableAsync(neighbour, DateTimeOffset.MaxValue.AddDays(-1), DateTimeOffset.MaxValue.AddDays(-1), 1000, default), r => Assert.Equal(neighbour, r.TenantId));
        Assert.Empty(await Runs.ListPurgeableAsync($"nobody-{Guid.NewGuid():n}", DateTimeOffset.MaxValue.AddDays(-1), DateTimeOffset.MaxValue.AddDays(-1), 1000, default));

        // Read at version 1, changed since: the purge erases nothing of it.
        Assert.True((await Runs.TryReplaceAsync(deleted with { Version = 2 }, 1, WriteDurability.Durable, default)).Written);
        Assert.False(await Runs.PurgeAsync(deleted, default));
        Assert.NotNull(await Runs.GetAsync(tenant, deleted.Id, default));
        Assert.Equal(2, (await Runs.GetEventsAsync(tenant, deleted.Id, 0, 10, default)).Count);

        Assert.True(await Runs.PurgeAsync(expired, default));
        Assert.True(await Runs.PurgeAsync(deleted with { Version = 2 }, default));
        foreach (var gone in new[] { expired, deleted })
        {
            Assert.Null(await Runs.GetAsync(tenant, gone.Id, default));
            Assert.Empty(await Runs.GetEventsAsync(tenant, gone.Id, 0, 10, default));
            Assert.Empty(await Runs.GetAllTurnsAsync(tenant, gone.Id, default));
            Assert.Null(await Keys.GetAsync(tenant, $"key-{gone.Id}", default));
            Assert.Empty(await Deliveries.ListForRunAsync(tenant, gone.Id, default));
        }

        // Its labels went with it; the run that stays keeps all it had.
        Assert.Equal([kept.Id], (await Runs.ListAsync(tenant, new RunQuery { Labels = ["origin_reference=order-9"], IncludeDeleted = true }, default)).Items.Select(s => s.Run.Id));
        Assert.Equal(2, (await Runs.GetEventsAsync(tenant, kept.Id, 0, 10, default)).Count);
        Assert.Single(await Runs.GetAllTurnsAsync(tenant, kept.Id, default));
        Assert.Equal(kept.Id, (await Keys.GetAsync(tenant, $"key-{kept.Id}", default))!.RunId);
        Assert.Single(await Deliveries.ListForRunAsync(tenant, kept.Id, default));
        Assert.Empty(await DueAsync(DateTimeOffset.MaxValue.AddDays(-1), DateTimeOffset.MaxValue.AddDays(-1)));
    }

    [ServerFact]
    public async Task A_files_pieces_are_the_runs_once_its_turn_commits_and_orphans_are_swept_by_age()
    {
        var tenant = $"files-{Guid.NewGuid():n}";
        var (committed, orphan, young) = (NewId(), NewId(), NewId());
        byte[][] pieces = [[1, 2, 3], [4, 5], []];
        for (var i = 0; i < 2; i++)
        {
            await Files.InsertChunkAsync(tenant, committed, i, pieces[i], T0, default);
            await Files.InsertChunkAsync(tenant, orphan, i, pieces[i], T0, default);
        }

        await Files.InsertChunkAsync(tenant, young, 0, pieces[0], T0.AddHours(2), default);
        var file = new StoredFile(committed, "a.bin", "application/octet-stream", 5, new string('0', 64));
        var run = Run(NewId(), version: 1) with { TenantId = tenant };
        Assert.Null(await Files.GetAsync(tenant, run.Id, committed, default));
        await Runs.CommitTurnAsync(Commit(run, expected: 0, firstSeq: 1, count: 1) with { Files = [file] }, default);

        // Committed again (a queued turn runs after its acceptance committed its files): left as it is.
        await Runs.CommitTurnAsync(Commit(run with { Version = 2, TurnNumber = 2 }, expected: 1, firstSeq: 2, count: 1) with { Files = [file] }, default);
        Assert.Equal(file, await Files.GetAsync(tenant, run.Id, committed, default));
        Assert.Null(await Files.GetAsync("another-tenant", run.Id, committed, default));
        Assert.Null(await Files.GetAsync(tenant, NewId(), committed, default));
        Assert.Equal(pieces[1], await Files.ReadChunkAsync(tenant, committed, 1, default));
        Assert.Null(await Files.ReadChunkAsync("another-tenant", committed, 1, default));

        // A sweep of another tenant leaves this tenant's orphans alone.
        Assert.Equal(0, await Files.DeleteOrphanChunksAsync($"nobody-{Guid.NewGuid():n}", T0.AddHours(1), default));
        Assert.NotNull(await Files.ReadChunkAsync(tenant, orphan, 0, default));

        // Old pieces of no run's file go; the run's, and young ones (a turn may still be sending them), stay.
        Assert.Equal(2, await Files.DeleteOrphanChunksAsync(tenant, T0.AddHours(1), default));
        Assert.Null(await Files.ReadChunkAsync(tenant, orphan, 0, default));
        Assert.NotNull(await Files.ReadChunkAsync(tenant, young, 0, default));
        Assert.NotNull(await Files.ReadChunkAsync(tenant, committed, 0, default));

        await Files.DeleteChunksAsync(tenant, young, default);
        Assert.Null(await Files.ReadChunkAsync(tenant, young, 0, default));
        Assert.True(await Runs.PurgeAsync(run with { Version = 2, TurnNumber = 2 }, default));
        Assert.Null(await Files.GetAsync(tenant, run.Id, committed, default));
        Assert.Null(await Files.ReadChunkAsync(tenant, committed, 0, default));
    }

    [ServerFact]
    public async Task Evaluations_are_batches_listed_by_workflow_and_kind_newest_first()
    {
        var tenant = $"evaluations-{Guid.NewGuid():n}";
        var workflow = NewId();
        Sessions.Runtime.Batches.BatchDocument Batch(DateTimeOffset at, Sessions.Runtime.Batches.BatchKind kind, string? of = null) =>
            new(NewId(), tenant, of ?? workflow, 1, "alice", null, 2, 1, Sessions.Runtime.Batches.BatchStatus.Running, 1, at, at)
            {
                Kind = kind,
                Selection = kind == Sessions.Runtime.Batches.BatchKind.Evaluation ? new JsonObject { ["limit"] = 10 } : null,
            };
        var older = Batch(T0, Sessions.Runtime.Batches.BatchKind.Evaluation);
        var newer = Batch(T0.AddMinutes(1), Sessions.Runtime.Batches.BatchKind.Evaluation);
        var runs = Batch(T0.AddMinutes(2), Sessions.Runtime.Batches.BatchKind.Runs);
        var elsewhere = Batch(T0.AddMinutes(3), Sessions.Runtime.Batches.BatchKind.Evaluation, NewId());
        foreach (var batch in new[] { older, newer, runs, elsewhere })
        {
            await Batches.CreateAsync(batch, [new(batch.Id, tenant, 0, new JsonObject { ["source_run_id"] = NewId() }, Sessions.Runtime.Batches.BatchItemState.Pending, 1)], default);
        }

        var evaluations = await Batches.ListAsync(tenant, workflow, Sessions.Runtime.Batches.BatchKind.Evaluation, 10, default);
        Assert.Equal([newer.Id, older.Id], evaluations.Select(b => b.Id));
        Assert.Equal(10, evaluations[0].Selection!["limit"]!.GetValue<int>());
        Assert.Equal([runs.Id], (await Batches.ListAsync(tenant, workflow, Sessions.Runtime.Batches.BatchKind.Runs, 10, default)).Select(b => b.Id));
        Assert.Single(await Batches.ListAsync(tenant, workflow, Sessions.Runtime.Batches.BatchKind.Evaluation, 1, default));
        Assert.Empty(await Batches.ListAsync("another-tenant", workflow, Sessions.Runtime.Batches.BatchKind.Evaluation, 10, default));
    }

    [ServerFact]
    public async Task A_batch_and_its_items_change_only_at_their_versions_and_list_open_items_in_order()
    {
        var tenant = $"batch-{Guid.NewGuid():n}";
        var batch = new Sessions.Runtime.Batches.BatchDocument(NewId(), tenant, NewId(), null, "alice", "user-1", 2, 5, Sessions.Runtime.Batches.BatchStatus.Running, 1, T0, T0);
        var items = Enumerable.Range(0, 5)
            .Select(i => new Sessions.Runtime.Batches.BatchItem(batch.Id, tenant, i, new JsonObject { ["n"] = i }, Sessions.Runtime.Batches.BatchItemState.Pending, 1))
            .ToList();
        await Batches.CreateAsync(batch, items, default);

        Assert.Equal(batch, await Batches.GetAsync(tenant, batch.Id, default));
        Assert.Null(await Batches.GetAsync("another-tenant", batch.Id, default));
        Assert.Contains(await Batches.ListRunningAsync(1000, default), b => b.Id == batch.Id);
        Assert.Equal([2, 3], (await Batches.ListItemsAsync(tenant, batch.Id, 1, 2, openOnly: false, default)).Select(i => i.Index));

        var running = items[0] with { State = Sessions.Runtime.Batches.BatchItemState.Running, Version = 2, ClaimedUntil = T0.AddMinutes(2) };
        Assert.True(await Batches.TryReplaceItemAsync(running, 1, default));
        Assert.False(await Batches.TryReplaceItemAsync(items[0] with { Version = 2 }, 1, default));
        var done = items[1] with { State = Sessions.Runtime.Batches.BatchItemState.Completed, Version = 2, RunId = NewId(), RunStatus = "completed", Output = "Hello" };
        Assert.True(await Batches.TryReplaceItemAsync(done, 1, default));
        Assert.Equal(Shape(done), Shape((await Batches.ListItemsAsync(tenant, batch.Id, 0, 1, openOnly: false, default)).Single()));
        Assert.Equal([0, 2, 3, 4], (await Batches.ListItemsAsync(tenant, batch.Id, -1, 10, openOnly: true, default)).Select(i => i.Index));
        Assert.Empty(await Batches.ListItemsAsync("another-tenant", batch.Id, -1, 10, openOnly: false, default));

        var counts = await Batches.CountItemsAsync(tenant, batch.Id, default);
        Assert.Equal((3, 1, 1, 0), (counts[Sessions.Runtime.Batches.BatchItemState.Pending], counts[Sessions.Runtime.Batches.BatchItemState.Running],
            counts[Sessions.Runtime.Batches.BatchItemState.Completed], counts[Sessions.Runtime.Batches.BatchItemState.Failed]));

        var cancelled = batch with { Status = Sessions.Runtime.Batches.BatchStatus.Cancelled, Version = 2, FinishedAt = T0.AddMinutes(1) };
        Assert.True(await Batches.TryReplaceAsync(cancelled, 1, default));
        Assert.False(await Batches.TryReplaceAsync(batch with { Version = 2 }, 1, default));
        Assert.Equal(cancelled, await Batches.GetAsync(tenant, batch.Id, default));
        Assert.DoesNotContain(await Batches.ListRunningAsync(1000, default), b => b.Id == batch.Id);
    }

    private static string Shape<T>(T value) => JsonSerializer.Serialize(value, DocumentJson.Options);

    protected static string NewId() => ObjectId.NewId(DateTimeOffset.UtcNow).ToString();

    private static WorkflowDocument Workflow(string id, string tenant) => new(id, tenant, "Flow", "desc", 0, 0, T0, T0);

    private static WorkflowVersionDocument Version(string id, string tenant, int n) => new(id, tenant, n, "Flow", """{"name":"Flow"}""", T0);

    protected static RunDocument Run(string id, long version) => new()
    {
        Id = id,
        TenantId = "t1",
        WorkflowId = "66a1f0000000000000000001",
        VersionNumber = 0,
        Status = RunStatus.WaitingForUserInput,
        Version = version,
        TurnNumber = 1,
        LastSeq = 2,
        Variables = new JsonObject { ["order_id"] = "123456", ["attempts"] = 2, ["nested"] = new JsonObject { ["ok"] = true } },
        WaitingNodeId = "ask",
        WaitingHint = new JsonObject { ["node_id"] = "ask", ["prompt"] = "?", ["input"] = new JsonObject { ["kind"] = "text" } },
        RunBy = "user-42",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    protected static TurnCommit Commit(RunDocument run, long expected, long firstSeq, int count)
    {
        var events = Enumerable.Range((int)firstSeq, count)
            .Select(seq => new RunEvent(run.Id, seq, run.TurnNumber, $"n{seq}", T0.AddSeconds(seq), new Said($"line {seq}") { Unknown = new() { ["n"] = JsonSerializer.SerializeToElement(seq) } }))
            .ToList();
        var turn = new TurnDocument(run.Id, run.TurnNumber, new JsonObject { ["user_message"] = "hi" }, new JsonObject { ["status"] = "waiting_for_user_input" }, firstSeq, firstSeq + count - 1, T0, T0);
        return new TurnCommit(run, expected, events, turn);
    }
}
