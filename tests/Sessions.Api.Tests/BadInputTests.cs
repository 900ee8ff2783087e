using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Api.Configuration;
using Sessions.Runtime.Storage;
using Sessions.Testing;
using Sessions.Runtime.Values;

namespace Sessions.Api.Tests;

/// <summary>
/// Runs in every state a client can meet, shared by the table below. Every bad request must leave all of them
/// exactly as they were, so sharing them across cases is itself part of the check. One per store.
/// </summary>
public abstract class BadInputFixture(StoreUnderTest store) : IAsyncLifetime
{
    public const string KindsDefinition = """
        { "name": "Input kinds", "start": "num",
          "nodes": [
            { "id": "num", "type": "ask", "prompt": "A number?", "variable": "x", "input": { "kind": "number", "min": 0, "max": 10 }, "next": "int" },
            { "id": "int", "type": "ask", "prompt": "A whole number?", "variable": "i", "input": { "kind": "integer", "min": 1 }, "next": "done" },
            { "id": "done", "type": "end" } ] }
        """;

    public SessionsFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string KindsWorkflow { get; private set; } = null!;

    public Dictionary<string, string> Runs { get; } = [];

    public async Task InitializeAsync()
    {
        Factory = new SessionsFactory(null, await store.SettingsAsync());
        Client = Factory.CreateClient();
        var created = await Client.PostAsync("/v1/workflows", Http.Json(KindsDefinition));
        KindsWorkflow = (await created.ReadObjectAsync())["workflow_id"]!.GetValue<string>();

        Runs["order_waiting"] = await StartAsync(SessionsFactory.OrderStatus);
        Runs["support_name"] = await StartAsync(SessionsFactory.SupportTicket);
        Runs["support_category"] = await StartAsync(SessionsFactory.SupportTicket, "Ada Lovelace", "ada@example.com");
        Runs["support_urgent"] = await StartAsync(SessionsFactory.SupportTicket, "Ada Lovelace", "ada@example.com", "billing");
        Runs["kinds_number"] = await StartAsync(KindsWorkflow);
        Runs["kinds_integer"] = await StartAsync(KindsWorkflow, "2.5");
        Runs["order_completed"] = await StartAsync(SessionsFactory.OrderStatus, "123456");
        Runs["order_cancelled"] = await StartAsync(SessionsFactory.OrderStatus);
        (await Client.ExecuteAsync(SessionsFactory.OrderStatus, new { run_id = Runs["order_cancelled"], run_input = new { command = "stop" } })).EnsureSuccessStatusCode();
        Runs["booking_paused"] = await StartAsync(SessionsFactory.AppointmentBooking);
        (await Client.ExecuteAsync(SessionsFactory.AppointmentBooking, new { run_id = Runs["booking_paused"], run_input = new { command = "pause" } })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        Factory.Dispose();
        await store.DisposeAsync();
    }

    /// <summary>Everything stored about every run: document, events and turns.</summary>
    public async Task<string> SnapshotAsync()
    {
        var store = Factory.Services.GetRequiredService<IRunStore>();
        var tenant = Factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Sessions.Api.Configuration.SessionsOptions>>().Value.DefaultTenant;
        var all = new JsonObject();
        foreach (var (name, id) in Runs)
        {
            all[name] = JsonSerializer.SerializeToNode(new
            {
                run = await store.GetAsync(tenant, id, default),
                events = await store.GetEventsAsync(tenant, id, 0, 10_000, default),
                turns = await store.GetAllTurnsAsync(tenant, id, default),
            }, DocumentJson.Options);
        }

        return all.ToJsonString();
    }

    private async Task<string> StartAsync(string workflowId, params string[] replies)
    {
        var runId = (await Client.StartAsync(workflowId))["run_id"]!.GetValue<string>();
        foreach (var reply in replies)
        {
            await Client.ReplyAsync(workflowId, runId, reply);
        }

        return runId;
    }
}

public sealed class SqliteBadInputFixture() : BadInputFixture(new SqliteStoreUnderTest());

public sealed class PostgresBadInputFixture() : BadInputFixture(new PostgresStoreUnderTest());

public sealed class SqliteBadInputTests(SqliteBadInputFixture fixture) : BadInputTests(fixture), IClassFixture<SqliteBadInputFixture>;

public sealed class PostgresBadInputTests(PostgresBadInputFixture fixture) : BadInputTests(fixture), IClassFixture<PostgresBadInputFixture>;

public abstract class BadInputTests(BadInputFixture fixture)
{
    private const string UnknownId = "66a1f00000000000000000ff";

    /// <summary>Each case: the request (built from the fixture's runs), then the status and problem code it must get.</summary>
    private static readonly Dictionary<string, (Func<BadInputFixture, HttpRequestMessage> Request, HttpStatusCode Status, string Code)> Cases = new()
    {
        ["malformed workflow id"] = (f => Post("/v1/workflows/not-an-id/execute", "{}"), HttpStatusCode.BadRequest, "malformed_id"),
        ["uppercase workflow id"] = (f => Post("/v1/workflows/66A1F0000000000000000001/execute", "{}"), HttpStatusCode.BadRequest, "malformed_id"),
        ["malformed run id"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_id":"665f1c2a","run_input":{"user_message":"123456"}}"""), HttpStatusCode.BadRequest, "malformed_id"),
        ["malformed json"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"123456"}""")[..^1]), HttpStatusCode.BadRequest, "malformed_json"),
        ["json that is not an object"] = (f => Execute(SessionsFactory.OrderStatus, "[1,2]"), HttpStatusCode.BadRequest, "invalid_request"),
        ["run_id of the wrong type"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_id":12345}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["run_input of the wrong type"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], "\"123456\"")), HttpStatusCode.BadRequest, "invalid_request"),
        ["user_message of the wrong type"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":123456}""")), HttpStatusCode.BadRequest, "invalid_request"),
        ["dynamic_variables of the wrong type"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"123456","dynamic_variables":[1]}""")), HttpStatusCode.BadRequest, "invalid_request"),
        ["command of the wrong type"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"command":true}""")), HttpStatusCode.BadRequest, "invalid_request"),
        ["expected_turn as a string"] = (f => Execute(SessionsFactory.OrderStatus, """{"expected_turn":"1"}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["negative expected_turn"] = (f => Execute(SessionsFactory.OrderStatus, """{"expected_turn":-1}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["a fork without turn_number"] = (f => Post($"/v1/runs/{f.Runs["order_waiting"]}/fork", "{}"), HttpStatusCode.BadRequest, "invalid_request"),
        ["a fork with a null turn_number"] = (f => Post($"/v1/runs/{f.Runs["order_waiting"]}/fork", """{"turn_number":null}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["a cancel with neither run_ids nor workflow_id"] = (f => Post("/v1/runs/cancel", """{"reason":"x"}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["a cancel with run_ids that are not strings"] = (f => Post("/v1/runs/cancel", """{"run_ids":[1,2]}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["a cancel with a malformed run id"] = (f => Post("/v1/runs/cancel", $$"""{"run_ids":["{{f.Runs["order_waiting"]}}","665f1c2a"]}"""), HttpStatusCode.BadRequest, "malformed_id"),
        ["a cancel with a malformed workflow id"] = (f => Post("/v1/runs/cancel", """{"workflow_id":"nope"}"""), HttpStatusCode.BadRequest, "malformed_id"),
        ["a cancel with an empty run_ids"] = (f => Post("/v1/runs/cancel", """{"run_ids":[]}"""), HttpStatusCode.BadRequest, "invalid_request"),
        ["unknown command"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"command":"rewind"}""")), HttpStatusCode.BadRequest, "unknown_command"),
        ["negative version_number in the query"] = (f => Execute(SessionsFactory.OrderStatus, "{}", "?version_number=-1"), HttpStatusCode.BadRequest, "invalid_version_number"),
        ["non-numeric version_number in the query"] = (f => Execute(SessionsFactory.OrderStatus, "{}", "?version_number=latest"), HttpStatusCode.BadRequest, "invalid_version_number"),
        ["negative version_number in the body"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"version_number":-3}}"""), HttpStatusCode.BadRequest, "invalid_version_number"),
        ["unknown version_number"] = (f => Execute(SessionsFactory.OrderStatus, "{}", "?version_number=7"), HttpStatusCode.NotFound, "version_not_found"),
        ["unknown workflow"] = (f => Execute(UnknownId, "{}"), HttpStatusCode.NotFound, "workflow_not_found"),
        ["unknown run"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(UnknownId, """{"user_message":"123456"}""")), HttpStatusCode.NotFound, "run_not_found"),
        ["run of another workflow"] = (f => Execute(SessionsFactory.SupportTicket, WithRun(f.Runs["order_waiting"], """{"user_message":"123456"}""")), HttpStatusCode.NotFound, "run_not_found"),
        ["turn on a completed run"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_completed"], """{"user_message":"123456"}""")), HttpStatusCode.Conflict, "run_terminal"),
        ["stop on a completed run"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_completed"], """{"command":"stop"}""")), HttpStatusCode.Conflict, "run_terminal"),
        ["turn on a cancelled run"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_cancelled"], """{"command":"resume","user_message":"123456"}""")), HttpStatusCode.Conflict, "run_terminal"),
        ["resume on a waiting run without a message"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"command":"resume"}""")), HttpStatusCode.UnprocessableEntity, "reply_required"),
        ["pause on a paused run"] = (f => Execute(SessionsFactory.AppointmentBooking, WithRun(f.Runs["booking_paused"], """{"command":"pause"}""")), HttpStatusCode.Conflict, "transition_not_permitted"),
        ["stop without a run_id"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"command":"stop"}}"""), HttpStatusCode.BadRequest, "run_id_required"),
        ["text reply not matching the pattern"] = (f => Reply(f, "order_waiting", SessionsFactory.OrderStatus, "12345a"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["text reply too long"] = (f => Reply(f, "order_waiting", SessionsFactory.OrderStatus, "1234567"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["text reply too short"] = (f => Reply(f, "support_name", SessionsFactory.SupportTicket, "A"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["choice reply not among the options"] = (f => Reply(f, "support_category", SessionsFactory.SupportTicket, "refunds"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["boolean reply that is not yes or no"] = (f => Reply(f, "support_urgent", SessionsFactory.SupportTicket, "perhaps"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["number reply that is not a number"] = (f => Reply(f, "kinds_number", f.KindsWorkflow, "ten"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["number reply out of range"] = (f => Reply(f, "kinds_number", f.KindsWorkflow, "10.5"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["integer reply with a fraction"] = (f => Reply(f, "kinds_integer", f.KindsWorkflow, "2.5"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["integer reply below the minimum"] = (f => Reply(f, "kinds_integer", f.KindsWorkflow, "0"), HttpStatusCode.UnprocessableEntity, "invalid_reply"),
        ["body sent as a form"] = (f => new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute")
        { Content = new StringContent(WithRun(f.Runs["order_waiting"], """{"user_message":"123456"}"""), Encoding.UTF8, "application/x-www-form-urlencoded") }, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type"),
        ["duplicate keys in a reply"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"123456","user_message":"654321"}""")), HttpStatusCode.BadRequest, "malformed_json"),
        ["duplicate keys in dynamic_variables"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"name":"a","deep":{"x":1,"x":2}}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["duplicate keys in a workflow upload"] = (f => Post("/v1/workflows", """{"name":"Twice","name":"Again","start":"done","nodes":[{"id":"done","type":"end"}]}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["duplicate keys in a cancel request"] = (f => Post("/v1/runs/cancel", $$"""{"run_ids":["{{f.Runs["order_waiting"]}}"],"reason":"a","reason":"b"}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["duplicate keys in a fork request"] = (f => Post($"/v1/runs/{f.Runs["order_waiting"]}/fork", """{"turn_number":1,"turn_number":1}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["body sent without a content type"] = (f => new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute")
        { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(WithRun(f.Runs["order_waiting"], """{"user_message":"123456"}"""))) }, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type"),
        ["NUL character in a reply"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"12\u00003456"}""")), HttpStatusCode.BadRequest, "malformed_json"),
        ["NUL character in run_by"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"run_by":"ada\u0000"}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["NUL character in a variable's name"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"a\u0000b":1}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["NUL character in a workflow name"] = (f => Post("/v1/workflows", """{"name":"Nul\u0000","start":"done","nodes":[{"id":"done","type":"end"}]}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["NUL character in a run_by filter"] = (f => new HttpRequestMessage(HttpMethod.Get, "/v1/runs?run_by=ada%00"), HttpStatusCode.BadRequest, "invalid_request"),
        ["NUL character in a workflow name filter"] = (f => new HttpRequestMessage(HttpMethod.Get, "/v1/runs?q=%00"), HttpStatusCode.BadRequest, "invalid_request"),
        ["invalid UTF-8 in a reply"] = (f => PostBytes($"/v1/workflows/{SessionsFactory.OrderStatus}/execute", Utf8($$"""{"run_id":"{{f.Runs["order_waiting"]}}","run_input":{"user_message":"12"""), [0xFF, 0xFE], Utf8("\"}}")), HttpStatusCode.BadRequest, "malformed_json"),
        ["invalid UTF-8 in a variable's name"] = (f => PostBytes($"/v1/workflows/{SessionsFactory.OrderStatus}/execute", Utf8("""{"run_input":{"dynamic_variables":{"a"""), [0xC3, 0x28], Utf8("\":1}}}")), HttpStatusCode.BadRequest, "malformed_json"),
        ["overlong UTF-8 encoding in a workflow name"] = (f => PostBytes("/v1/workflows", Utf8("""{"name":"Over"""), [0xC0, 0xAF], Utf8("\",\"start\":\"done\",\"nodes\":[{\"id\":\"done\",\"type\":\"end\"}]}")), HttpStatusCode.BadRequest, "malformed_json"),
        ["UTF-8 encoded surrogate in a cancel reason"] = (f => PostBytes("/v1/runs/cancel", Utf8($$"""{"run_ids":["{{f.Runs["order_waiting"]}}"],"reason":"a"""), [0xED, 0xA0, 0x80], Utf8("\"}")), HttpStatusCode.BadRequest, "malformed_json"),
        ["lone high surrogate in a reply"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"12\ud8003456"}""")), HttpStatusCode.BadRequest, "malformed_json"),
        ["lone low surrogate in a variable"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"name":"\udc00"}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["reversed surrogate pair in run_by"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"run_by":"\udc00\ud800"}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["lone surrogate in a variable's name"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"\ud83d":1}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["lone surrogate in a workflow description"] = (f => Post("/v1/workflows", """{"name":"S","description":"\ud800","start":"done","nodes":[{"id":"done","type":"end"}]}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["lone surrogate in a fork request's field name"] = (f => Post($"/v1/runs/{f.Runs["order_waiting"]}/fork", """{"turn_number":1,"\udfff":1}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["variables nested past the depth limit"] = (f => Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"deep":""" + Nested(62) + "}}}"), HttpStatusCode.BadRequest, "malformed_json"),
        ["a reply's body nested past the depth limit"] = (f => Execute(SessionsFactory.OrderStatus, $$$"""{"run_id":"{{{f.Runs["order_waiting"]}}}","run_input":{"user_message":"123456","miscellaneous":{{{Nested(63)}}}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["a workflow nested past the depth limit"] = (f => Post("/v1/workflows", $$"""{"name":"Deep","start":"s","nodes":[{"id":"s","type":"set","assign":{"x":{{Nested(62)}}},"next":"done"},{"id":"done","type":"end"}]}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["a cancel request nested past the depth limit"] = (f => Post("/v1/runs/cancel", $$"""{"run_ids":["{{f.Runs["order_waiting"]}}"],"reason":{{Nested(70)}}}"""), HttpStatusCode.BadRequest, "malformed_json"),
        ["multipart boundary of 71 characters"] = (f => MultipartReply(f, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute", new string('b', 71), "note.txt"), HttpStatusCode.BadRequest, "invalid_request"),
        ["multipart boundary of 5,000 characters"] = (f => MultipartReply(f, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute", new string('b', 5000), "note.txt"), HttpStatusCode.BadRequest, "invalid_request"),
        ["multipart boundary of 5,000 characters on a stream"] = (f => MultipartReply(f, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute/stream", new string('b', 5000), "note.txt"), HttpStatusCode.BadRequest, "invalid_request"),
        ["multipart boundary of 5,000 characters on a batch"] = (f => Multipart($"/v1/workflows/{SessionsFactory.OrderStatus}/batches", new string('b', 5000), FilePart("items", "items.csv", "name\nAda\n")), HttpStatusCode.BadRequest, "invalid_request"),
        ["a file part with an empty file name"] = (f => MultipartReply(f, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute", "boundary-0123456789", ""), HttpStatusCode.BadRequest, "invalid_file"),
        ["a batch file part with an empty file name"] = (f => Multipart($"/v1/workflows/{SessionsFactory.OrderStatus}/batches", "boundary-0123456789", FilePart("items", "", "name\nAda\n")), HttpStatusCode.BadRequest, "invalid_batch"),
        ["body over the limit"] = (f => Reply(f, "order_waiting", SessionsFactory.OrderStatus, new string('9', 300 * 1024)), HttpStatusCode.RequestEntityTooLarge, "payload_too_large"),
        ["a workflow with an unknown node type"] = (f => Post("/v1/workflows", """{"name":"T","start":"a","nodes":[{"id":"a","type":"teleport"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a workflow with an unknown operator"] = (f => Post("/v1/workflows", """{"name":"T","start":"a","nodes":[{"id":"a","type":"branch","cases":[{"when":{"var":"x","op":"like","value":1},"next":"b"}],"default":"b"},{"id":"b","type":"end"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a workflow with an unknown input kind"] = (f => Post("/v1/workflows", """{"name":"T","start":"a","nodes":[{"id":"a","type":"ask","prompt":"?","variable":"x","input":{"kind":"colour"},"next":"b"},{"id":"b","type":"end"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a workflow with an unknown llm mode"] = (f => Post("/v1/workflows", """{"name":"T","start":"a","nodes":[{"id":"a","type":"llm","mode":"shout","base_url":"http://127.0.0.1:9/v1","model":"m","messages":[{"role":"user","content":"x"}],"next":"b"},{"id":"b","type":"end"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a workflow with an unknown http method"] = (f => Post("/v1/workflows", """{"name":"T","start":"a","nodes":[{"id":"a","type":"http_request","method":"FETCH","url":"http://127.0.0.1:9/","next":"b"},{"id":"b","type":"end"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a workflow with a malformed node id"] = (f => Post("/v1/workflows", """{"name":"T","start":"a b","nodes":[{"id":"a b","type":"end"}]}"""), HttpStatusCode.UnprocessableEntity, "invalid_definition"),
        ["a run list filtered by an unknown status"] = (f => new HttpRequestMessage(HttpMethod.Get, "/v1/runs?status=finished"), HttpStatusCode.BadRequest, "invalid_request"),
        ["an unknown on_busy"] = (f => Execute(SessionsFactory.OrderStatus, WithRun(f.Runs["order_waiting"], """{"user_message":"123456","on_busy":"shove"}""")), HttpStatusCode.BadRequest, "invalid_request"),
    };

    /// <summary>
    /// The refusals of a value: the value each must name (in its detail, or in the message of one of its errors), so a
    /// client or a person reading it sees what was refused, not only that something was.
    /// </summary>
    private static readonly Dictionary<string, string> NamedValues = new()
    {
        ["malformed workflow id"] = "not-an-id",
        ["uppercase workflow id"] = "66A1F0000000000000000001",
        ["malformed run id"] = "665f1c2a",
        ["a cancel with a malformed run id"] = "665f1c2a",
        ["a cancel with a malformed workflow id"] = "nope",
        ["unknown command"] = "rewind",
        ["negative version_number in the query"] = "-1",
        ["non-numeric version_number in the query"] = "latest",
        ["negative version_number in the body"] = "-3",
        ["unknown version_number"] = "7",
        ["unknown workflow"] = UnknownId,
        ["unknown run"] = UnknownId,
        ["text reply not matching the pattern"] = "12345a",
        ["text reply too long"] = "1234567",
        ["choice reply not among the options"] = "refunds",
        ["boolean reply that is not yes or no"] = "perhaps",
        ["number reply that is not a number"] = "ten",
        ["number reply out of range"] = "10.5",
        ["integer reply with a fraction"] = "2.5",
        ["integer reply below the minimum"] = "0",
        ["body sent as a form"] = "application/x-www-form-urlencoded",
        ["a workflow with an unknown node type"] = "teleport",
        ["a workflow with an unknown operator"] = "like",
        ["a workflow with an unknown input kind"] = "colour",
        ["a workflow with an unknown llm mode"] = "shout",
        ["a workflow with an unknown http method"] = "FETCH",
        ["a workflow with a malformed node id"] = "a b",
        ["a run list filtered by an unknown status"] = "finished",
        ["an unknown on_busy"] = "shove",
    };

    public static TheoryData<string> NamedValueCases() => new(NamedValues.Keys);

    [Theory]
    [MemberData(nameof(NamedValueCases))]
    public async Task A_refused_value_is_named_in_its_refusal(string caseName)
    {
        Assert.True(Cases.ContainsKey(caseName), $"{caseName} is not a case of the table");
        var response = await fixture.Client.SendAsync(Cases[caseName].Request(fixture));
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        var said = new[] { problem["detail"]?.GetValue<string>() }
            .Concat((problem["errors"] as JsonArray ?? []).Select(e => e?["message"]?.GetValue<string>()))
            .OfType<string>()
            .ToList();
        Assert.True(said.Any(text => text.Contains(NamedValues[caseName], StringComparison.Ordinal)),
            $"{caseName}: no part of the refusal names \"{NamedValues[caseName]}\": {string.Join(" | ", said)}");
    }

    [Fact]
    public async Task A_long_refused_value_is_cut_to_a_readable_length()
    {
        var command = new string('r', 5000);
        var response = await fixture.Client.SendAsync(Execute(SessionsFactory.OrderStatus, WithRun(fixture.Runs["order_waiting"], $$"""{"command":"{{command}}"}""")));
        var detail = (await response.ReadObjectAsync())["detail"]!.GetValue<string>();
        Assert.Contains(command[..40], detail);
        Assert.True(detail.Length < 400, detail);
    }

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_input_gets_its_documented_problem_and_changes_no_run(string caseName)
    {
        var (request, status, code) = Cases[caseName];
        var before = await fixture.SnapshotAsync();
        Assert.All(fixture.Runs.Values, runId => Assert.Contains($"\"id\":\"{runId}\"", before));

        var response = await fixture.Client.SendAsync(request(fixture));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{caseName}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.Equal($"urn:sessions:problem:{code}", problem["type"]!.GetValue<string>());
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(problem["detail"]?.GetValue<string>()));
        Assert.Equal(before, await fixture.SnapshotAsync());
    }

    [Fact]
    public async Task A_multipart_reply_with_the_longest_boundary_rfc_2046_allows_and_a_named_file_is_taken()
    {
        var runId = (await fixture.Client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        var response = await fixture.Client.SendAsync(MultipartReply(runId, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute", new string('b', 70), "note.txt"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await (await fixture.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("note.txt", run["variables"]!["receipt"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_invalid_reply_says_what_was_expected_and_repeats_the_hint()
    {
        var response = await fixture.Client.SendAsync(Reply(fixture, "support_category", SessionsFactory.SupportTicket, "refunds"));
        var problem = await response.ReadObjectAsync();
        Assert.Equal("one of: billing, technical, account", problem["expected"]!.GetValue<string>());
        Assert.Equal("ask_category", problem["next_input_hint"]!["node_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wrong_types_are_all_named_with_their_json_paths()
    {
        var response = await fixture.Client.SendAsync(Execute(SessionsFactory.OrderStatus, """{"run_input":{"user_message":1,"dynamic_variables":"x","run_by":[]}}"""));
        var problem = await response.ReadObjectAsync();
        var paths = problem["errors"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()).ToList();
        Assert.Equal(["$.run_input.user_message", "$.run_input.dynamic_variables", "$.run_input.run_by"], paths);
    }

    [Fact]
    public async Task The_body_limit_is_configurable()
    {
        using var small = new SessionsFactory(null, new() { ["Sessions:MaxRequestBodyBytes"] = "2048" });
        var client = small.CreateClient();
        var padding = new string(' ', 1500);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Execute(SessionsFactory.OrderStatus, $"{{{padding}}}"))).StatusCode);
        var tooLarge = await client.SendAsync(Execute(SessionsFactory.OrderStatus, $"{{{padding}{padding}}}"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(2048, (await tooLarge.ReadObjectAsync())["limit_bytes"]!.GetValue<int>());
    }

    [Fact]
    public async Task Variables_as_deep_as_a_body_allows_can_be_read_back_everywhere()
    {
        // 64 levels in all: the body, run_input, dynamic_variables, then 61 arrays.
        var deep = Nested(61);
        var started = await fixture.Client.SendAsync(Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"deep":""" + deep + "}}}"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var runId = (await started.ReadObjectAsync())["run_id"]!.GetValue<string>();

        var run = await fixture.Client.GetAsync($"/v1/runs/{runId}");
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        Assert.Equal(deep, (await run.ReadObjectAsync())["variables"]!["deep"]!.ToJsonString(new JsonSerializerOptions { MaxDepth = 256 }));
        foreach (var read in new[] { $"/v1/runs/{runId}/events", $"/v1/runs/{runId}/transcript", $"/v1/runs/{runId}/transcript?format=markdown", $"/v1/runs?limit=5" })
        {
            Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync(read)).StatusCode);
        }

        var fork = await fixture.Client.SendAsync(Post($"/v1/runs/{runId}/fork", """{"turn_number":1}"""));
        Assert.Equal(HttpStatusCode.Created, fork.StatusCode);
        var forkId = (await fork.ReadObjectAsync())["run_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.SendAsync(Reply(forkId, SessionsFactory.OrderStatus, "123456"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.SendAsync(Reply(runId, SessionsFactory.OrderStatus, "123456"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await fixture.Client.SendAsync(Post($"/v1/runs/{runId}/replay", "{}"))).StatusCode);

        // What the server answered can be sent back as it is.
        var variables = (await (await fixture.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["variables"]!;
        var again = await fixture.Client.SendAsync(Execute(SessionsFactory.OrderStatus, "{\"run_input\":{\"dynamic_variables\":" + variables.ToJsonString(new JsonSerializerOptions { MaxDepth = 256 }) + "}}"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_service_answer_nested_too_deep_fails_its_run_and_the_run_stays_readable()
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var result = await RunCallAsync(api, "hostile/deep");
        Assert.Equal("failed", result["status"]!.GetValue<string>());
        Assert.Contains("MaxJsonDepth", result["error"]!.GetValue<string>());

        var runId = result["run_id"]!.GetValue<string>();
        var run = await (await fixture.Client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        Assert.Equal("limits", run["termination_source"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync($"/v1/runs/{runId}/transcript")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync($"/v1/runs/{runId}/events")).StatusCode);
    }

    [Fact]
    public async Task A_service_answer_larger_than_the_limit_fails_the_call_with_a_clear_error()
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var result = await RunCallAsync(api, "hostile/huge");
        Assert.Equal("failed", result["status"]!.GetValue<string>());
        Assert.Contains("hostile/huge failed", result["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("hostile/surrogate")]
    [InlineData("hostile/nul")]
    public async Task A_service_answer_with_text_no_store_keeps_counts_as_not_json(string route)
    {
        await using var api = await LoopbackApi.StartAsync("token");
        var result = await RunCallAsync(api, route);
        Assert.Equal("completed", result["status"]!.GetValue<string>());

        var run = await (await fixture.Client.GetAsync($"/v1/runs/{result["run_id"]!.GetValue<string>()}")).ReadObjectAsync();
        Assert.Equal(200, run["variables"]!["code"]!.GetValue<int>());
        Assert.Null(run["variables"]!["name"]);
        Assert.Null(run["variables"]!["whole"]);
    }

    /// <summary>Starts a run of a workflow that calls the loopback service once and keeps its answer.</summary>
    private async Task<JsonObject> RunCallAsync(LoopbackApi api, string route)
    {
        var definition = $$"""
            { "name": "Hostile service", "start": "call",
              "nodes": [
                { "id": "call", "type": "http_request", "url": "{{api.Address}}{{route}}", "status_variable": "code",
                  "response": { "name": "name", "whole": "$" }, "next": "done" },
                { "id": "done", "type": "end" } ] }
            """;
        var created = await fixture.Client.PostAsync("/v1/workflows", Http.Json(definition));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var answer = await fixture.Client.SendAsync(Execute((await created.ReadObjectAsync())["workflow_id"]!.GetValue<string>(), "{}"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.ReadObjectAsync();
    }

    [Fact]
    public async Task The_depth_limit_is_configurable()
    {
        using var shallow = new SessionsFactory(null, new() { ["Sessions:Turns:MaxJsonDepth"] = "16" });
        var client = shallow.CreateClient();
        var atLimit = await client.SendAsync(Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"d":""" + Nested(13) + "}}}"));
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        var past = await client.SendAsync(Execute(SessionsFactory.OrderStatus, """{"run_input":{"dynamic_variables":{"d":""" + Nested(14) + "}}}"));
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Equal("malformed_json", (await past.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_fields_of_the_published_protocol_are_ignored()
    {
        var response = await fixture.Client.SendAsync(Execute(SessionsFactory.OrderStatus, """
            { "thread_to_node_inputs": {}, "welcome_message": "hi",
              "run_input": { "command": "START", "team_id": "t-1", "miscellaneous": { "channel": "web" }, "dynamic_variables": { "name": "Bo" } } }
            """));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hi Bo!", (await response.ReadObjectAsync())["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "say_static")!["text"]!.GetValue<string>());
    }

    /// <summary>`levels` arrays inside each other around a number: `[[1]]` for 2.</summary>
    internal static string Nested(int levels) => new string('[', levels) + "1" + new string(']', levels);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static HttpRequestMessage PostBytes(string path, params byte[][] parts)
    {
        var content = new ByteArrayContent(parts.SelectMany(p => p).ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    /// <summary>A reply to the waiting order with a file, as multipart/form-data with the given boundary; a well-formed body.</summary>
    private static HttpRequestMessage MultipartReply(BadInputFixture f, string path, string boundary, string fileName) =>
        MultipartReply(f.Runs["order_waiting"], path, boundary, fileName);

    private static HttpRequestMessage MultipartReply(string runId, string path, string boundary, string fileName) =>
        Multipart(
            path,
            boundary,
            $"Content-Disposition: form-data; name=\"run_id\"\r\n\r\n{runId}",
            "Content-Disposition: form-data; name=\"run_input\"\r\nContent-Type: application/json\r\n\r\n{\"user_message\":\"123456\"}",
            FilePart("receipt", fileName, "a note"));

    private static string FilePart(string name, string fileName, string content) =>
        $"Content-Disposition: form-data; name=\"{name}\"; filename=\"{fileName}\"\r\nContent-Type: text/plain\r\n\r\n{content}";

    private static HttpRequestMessage Multipart(string path, string boundary, params string[] parts)
    {
        var body = new StringBuilder();
        foreach (var part in parts)
        {
            body.Append("--").Append(boundary).Append("\r\n").Append(part).Append("\r\n");
        }

        body.Append("--").Append(boundary).Append("--\r\n");
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToString()));
        content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    private static string WithRun(string runId, string runInputJson) => $"{{\"run_id\":\"{runId}\",\"run_input\":{runInputJson}}}";

    private static HttpRequestMessage Post(string path, string body) => new(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static HttpRequestMessage Execute(string workflowId, string body, string query = "") => Post($"/v1/workflows/{workflowId}/execute{query}", body);

    private static HttpRequestMessage Reply(BadInputFixture f, string run, string workflowId, string message) => Reply(f.Runs[run], workflowId, message);

    private static HttpRequestMessage Reply(string runId, string workflowId, string message) =>
        Execute(workflowId, JsonSerializer.Serialize(new { run_id = runId, run_input = new { user_message = message } }));
}
