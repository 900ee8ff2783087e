using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Data.Sqlite;

namespace Sessions.Api.Tests;

/// <summary>
/// Property: whatever arrives (random and mutated bodies, headers and ids, at every endpoint), the server never
/// answers 5xx, every refusal is a problem document with a code, and a refused request changes nothing stored.
/// </summary>
public sealed class FuzzTests : IAsyncLifetime
{
    private static readonly string[] FieldNames =
    [
        "run_id", "run_input", "command", "user_message", "dynamic_variables", "runtime_variables", "version_number", "expected_turn",
        "run_by", "turn_number", "run_ids", "workflow_id", "reason", "name", "start", "nodes", "limits", "variables", "id", "type", "next",
    ];

    private static readonly string[] Commands = ["start", "data", "resume", "pause", "stop", "STOP", "", "jump"];

    private readonly SessionsFactory factory = new(null, new() { ["Sessions:RateLimit:PermitsPerSecond"] = "0" });
    private HttpClient client = null!;
    private string waiting = null!;
    private string paused = null!;
    private string finished = null!;

    public async Task InitializeAsync()
    {
        client = factory.CreateClient();
        waiting = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        paused = (await client.StartAsync(SessionsFactory.AppointmentBooking))["run_id"]!.GetValue<string>();
        await client.ExecuteAsync(SessionsFactory.AppointmentBooking, new { run_id = paused, run_input = new { command = "pause" } });
        finished = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, finished, "123456");
    }

    public Task DisposeAsync() => factory.DisposeAsync().AsTask();

    [Fact]
    public void No_request_gets_a_5xx_every_refusal_is_a_problem_and_changes_nothing()
    {
        var property = Prop.ForAll(Requests().ToArbitrary(), request =>
        {
            var before = StoredDigest();
            using var response = Send(request);
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                return false.Label($"{status} for {request}: {response.Content.ReadAsStringAsync().Result}");
            }

            if (status < 400)
            {
                return true.ToProperty();
            }

            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            var isProblem = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && JsonNode.Parse(body)?["code"]?.GetValue<string>() is { Length: > 0 };
            var unchanged = StoredDigest() == before;
            return (isProblem && unchanged).Label($"{status} for {request}: problem={isProblem} unchanged={unchanged} {body}");
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public async Task A_refusal_is_a_problem_even_for_a_client_that_accepts_only_event_streams()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{SessionsFactory.OrderStatus}/execute/stream") { Content = Http.Json("""{"run_id":"nope"}""") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("malformed_id", (await response.ReadObjectAsync())["code"]!.GetValue<string>());
    }

    private HttpResponseMessage Send(FuzzRequest request)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        // A streamed turn is read to its end, so that it has committed before the next request is checked; a followed
        // run's stream never ends by itself, so only its status and headers are checked.
        var response = client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            var turn = request.Path.Contains("/execute/stream", StringComparison.Ordinal) ? response.Content.ReadAsStringAsync().GetAwaiter().GetResult() : "";
            response.Content = new StringContent(turn);
        }

        return response;
    }

    /// <summary>Everything a request could change, in one string: runs with their versions, events, turns, workflows and versions.</summary>
    private string StoredDigest()
    {
        using var connection = new SqliteConnection($"Data Source={factory.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) || ':' || COALESCE(SUM(version), 0) || ':' || COALESCE(MAX(updated_at), '') FROM runs)
                || '|' || (SELECT COUNT(*) FROM run_events) || '|' || (SELECT COUNT(*) FROM run_turns)
                || '|' || (SELECT COUNT(*) || ':' || COALESCE(SUM(length(doc)), 0) FROM workflows) || '|' || (SELECT COUNT(*) FROM workflow_versions);
            """;
        return (string)command.ExecuteScalar()!;
    }

    private Gen<FuzzRequest> Requests()
    {
        var workflowIds = Ids(SessionsFactory.OrderStatus, SessionsFactory.AppointmentBooking);
        var runIds = Ids(waiting, paused, finished);
        var numbers = Gen.Elements("", "-1", "0", "1", "2", "abc", "99999999999999999999", "1.5", "%20", "1e3");
        var paths = Gen.OneOf(
            workflowIds.Select(w => ("POST", $"/v1/workflows/{w}/execute")),
            Gen.Zip(workflowIds, numbers).Select(p => ("POST", $"/v1/workflows/{p.Item1}/execute?version_number={p.Item2}")),
            workflowIds.Select(w => ("POST", $"/v1/workflows/{w}/execute/stream")),
            workflowIds.Select(w => ("POST", $"/v1/workflows/{w}/versions")),
            Gen.Constant(("POST", "/v1/workflows")),
            Gen.Zip(numbers, numbers).Select(p => ("GET", $"/v1/workflows?page={p.Item1}&limit={p.Item2}")),
            workflowIds.Select(w => ("GET", $"/v1/workflows/{w}")),
            Gen.Zip(workflowIds, numbers).Select(p => ("GET", $"/v1/workflows/{p.Item1}/versions/{p.Item2}")),
            Gen.Zip(workflowIds, numbers).Select(p => ("GET", $"/v1/workflows/{p.Item1}/runs?status={p.Item2}")),
            workflowIds.Select(w => ("GET", $"/v1/workflows/{w}/runs/stats")),
            Gen.Zip(numbers, Gen.Elements("running", "completed", "nope", "")).Select(p => ("GET", $"/v1/runs?limit={p.Item1}&status={p.Item2}&created_after={p.Item1}")),
            Gen.Constant(("GET", "/v1/runs/stats")),
            runIds.Select(r => ("GET", $"/v1/runs/{r}")),
            Gen.Zip(runIds, numbers).Select(p => ("GET", $"/v1/runs/{p.Item1}/events?after_seq={p.Item2}&limit={p.Item2}")),
            Gen.Zip(runIds, Gen.Elements("json", "markdown", "xml", "")).Select(p => ("GET", $"/v1/runs/{p.Item1}/transcript?format={p.Item2}")),
            runIds.Select(r => ("GET", $"/v1/runs/{r}/events/stream")),
            runIds.Select(r => ("POST", $"/v1/runs/{r}/fork")),
            runIds.Select(r => ("POST", $"/v1/runs/{r}/replay")),
            Gen.Constant(("POST", "/v1/runs/cancel")),
            Gen.Elements(("DELETE", $"/v1/runs/{waiting}"), ("PUT", "/v1/workflows"), ("PATCH", $"/v1/workflows/{SessionsFactory.OrderStatus}/execute")));
        var headers = Gen.Zip(
                Gen.Elements<(string, string)?>(null, ("Idempotency-Key", "fuzz-key-1"), ("Idempotency-Key", "has space"), ("Idempotency-Key", new string('k', 300))),
                Gen.Zip(
                    Gen.Elements<(string, string)?>(null, ("Last-Event-ID", "abc"), ("Last-Event-ID", "-1"), ("Last-Event-ID", "3")),
                    Gen.Elements<(string, string)?>(null, ("Authorization", "Bearer nonsense"), ("Accept", "text/event-stream"))))
            .Select(h => new[] { h.Item1, h.Item2.Item1, h.Item2.Item2 }.OfType<(string, string)>().ToArray());
        var contentTypes = Gen.Elements<string?>("application/json", "application/json", "application/json; charset=utf-8", "text/plain", "garbage/", null);
        var bodies = Gen.Frequency(
            (5, Json(3, runIds, workflowIds).Select(j => (byte[]?)Encoding.UTF8.GetBytes(j?.ToJsonString() ?? "null"))),
            (5, Mutated(runIds).Select(j => (byte[]?)Encoding.UTF8.GetBytes(j))),
            (2, Gen.Elements<byte[]?>(null, [], "{"u8.ToArray(), "[1,"u8.ToArray(), [0xff, 0xfe, 0x00], Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)))));
        return Gen.Zip(paths, Gen.Zip(Gen.Zip(bodies, contentTypes), headers))
            .Select(r => new FuzzRequest(r.Item1.Item1, r.Item1.Item2, r.Item2.Item1.Item2, r.Item2.Item1.Item1, r.Item2.Item2));
    }

    /// <summary>Real ids, ids one step off, broken ids and nonsense.</summary>
    private static Gen<string> Ids(params string[] real) => Gen.OneOf(
        Gen.Elements(real),
        Gen.Elements(real).Select(id => id[..23] + (id[23] == '0' ? '1' : '0')),
        Gen.Elements(real).Select(id => id.ToUpperInvariant()),
        Gen.Elements(real).Select(id => id[..20]),
        Gen.Elements("", "0", "000000000000000000000000", "zzzzzzzzzzzzzzzzzzzzzzzz", "%20", "..%2F..", new string('a', 300), "%F0%9F%98%80", "null"));

    /// <summary>Known-good bodies with one value swapped for something else.</summary>
    private static Gen<string> Mutated(Gen<string> runIds) =>
        Gen.Zip(runIds, Gen.Zip(Gen.Elements(Commands), Gen.Elements("\"123456\"", "123456", "null", "[]", "{}", "\"" + new string('9', 20_000) + "\"", "true", "-1", "1.5")))
            .Select(p => (p.Item1, p.Item2.Item1, p.Item2.Item2))
            .SelectMany(p => Gen.Elements(
                $$$"""{"run_id":"{{{p.Item1}}}","run_input":{"user_message":{{{p.Item3}}}}}""",
                $$$"""{"run_id":"{{{p.Item1}}}","run_input":{"command":"{{{p.Item2}}}","user_message":{{{p.Item3}}}}}""",
                $$$"""{"run_id":"{{{p.Item1}}}","expected_turn":{{{p.Item3}}},"run_input":{"user_message":"123456"}}""",
                $$$"""{"run_input":{"dynamic_variables":{{{p.Item3}}},"version_number":{{{p.Item3}}}}}""",
                $$$"""{"run_ids":["{{{p.Item1}}}",{{{p.Item3}}}],"reason":{{{p.Item3}}}}""",
                $$$"""{"workflow_id":{{{p.Item3}}}}""",
                $$$"""{"turn_number":{{{p.Item3}}},"version_number":{{{p.Item3}}}}""",
                $$$"""{"name":{{{p.Item3}}},"start":"a","nodes":[{"id":"a","type":"{{{p.Item2}}}","next":{{{p.Item3}}}}]}"""));

    /// <summary>Random JSON whose object keys are mostly the protocol's own field names, so it reaches deep into parsing.</summary>
    private static Gen<JsonNode?> Json(int depth, Gen<string> runIds, Gen<string> workflowIds)
    {
        var leaves = Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Choose(-3, 1000).Select(n => (JsonNode?)JsonValue.Create(n)),
            Gen.Elements(1.5, -0.0, 1e300).Select(n => (JsonNode?)JsonValue.Create(n)),
            Gen.OneOf(runIds, workflowIds, Gen.Elements(Commands), Gen.Elements("", "123456", "ü", "{{name}}", "\u0000")).Select(s => (JsonNode?)JsonValue.Create(s)));
        if (depth == 0)
        {
            return leaves;
        }

        var child = Json(depth - 1, runIds, workflowIds);
        return Gen.Frequency(
            (2, leaves),
            (1, Gen.ListOf(child).Select(items => (JsonNode?)new JsonArray(items.Take(4).ToArray()))),
            (3, Gen.ListOf(Gen.Zip(Gen.Elements(FieldNames), child)).Select(pairs =>
            {
                var node = new JsonObject();
                foreach (var (name, value) in pairs.Take(6))
                {
                    node[name] = value;
                }

                return (JsonNode?)node;
            })));
    }

    public sealed record FuzzRequest(string Method, string Path, string? ContentType, byte[]? Body, (string Name, string Value)[] Headers)
    {
        public override string ToString() =>
            $"{Method} {Path} [{ContentType}] {string.Join(' ', Headers.Select(h => $"{h.Name}: {h.Value}"))} {(Body is null ? "<no body>" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)]))}";
    }
}
