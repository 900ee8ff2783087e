using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Data.Sqlite;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Property: whatever arrives (random and mutated bodies, headers and ids, at every endpoint; JSON nested past the
/// limit, invalid UTF-8, lone surrogates, duplicate keys, NUL, backtracking patterns), the server never answers 5xx,
/// every refusal is a problem document with a code, and a refused request changes nothing stored. On both stores.
/// </summary>
public abstract class FuzzTests(StoreUnderTest store) : IAsyncLifetime
{
    private static readonly string[] FieldNames =
    [
        "run_id", "run_input", "command", "user_message", "dynamic_variables", "runtime_variables", "version_number", "expected_turn",
        "run_by", "turn_number", "run_ids", "workflow_id", "reason", "name", "start", "nodes", "limits", "variables", "id", "type", "next",
    ];

    private static readonly string[] Commands = ["start", "data", "resume", "pause", "stop", "STOP", "", "jump"];

    private SessionsFactory factory = null!;
    private HttpClient client = null!;
    private string waiting = null!;
    private string paused = null!;
    private string finished = null!;

    protected SessionsFactory Factory => factory;

    protected StoreUnderTest Store => store;

    public virtual async Task InitializeAsync()
    {
        var settings = await store.SettingsAsync();
        settings["Sessions:RateLimit:PermitsPerSecond"] = "0";

        // Work accepted for later (a background turn, a batch's items) would change the store between a later request
        // and the check that it changed nothing: no worker runs it here.
        settings["Sessions:Workers:PollMilliseconds"] = "0";
        settings["Sessions:Batches:PollMilliseconds"] = "0";
        factory = new SessionsFactory(null, settings);
        client = factory.CreateClient();
        waiting = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        paused = (await client.StartAsync(SessionsFactory.AppointmentBooking))["run_id"]!.GetValue<string>();
        await client.ExecuteAsync(SessionsFactory.AppointmentBooking, new { run_id = paused, run_input = new { command = "pause" } });
        finished = (await client.StartAsync(SessionsFactory.OrderStatus))["run_id"]!.GetValue<string>();
        await client.ReplyAsync(SessionsFactory.OrderStatus, finished, "123456");
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    /// <summary>Everything a request could change, in one string: runs with their versions, events, turns, workflows and versions.</summary>
    protected abstract string StoredDigest();

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
            workflowIds.Select(w => ("POST", $"/v1/workflows/{w}/batches")),
            runIds.Select(r => ("GET", $"/v1/batches/{r}")),
            Gen.Constant(("POST", "/v1/runs/cancel")),
            Gen.Elements(("DELETE", $"/v1/runs/{waiting}"), ("PUT", "/v1/workflows"), ("PATCH", $"/v1/workflows/{SessionsFactory.OrderStatus}/execute")));
        var headers = Gen.Zip(
                Gen.Elements<(string, string)?>(null, ("Idempotency-Key", "fuzz-key-1"), ("Idempotency-Key", "has space"), ("Idempotency-Key", new string('k', 300)), ("Idempotency-Key", "ключ")),
                Gen.Zip(
                    Gen.Elements<(string, string)?>(null, ("Last-Event-ID", "abc"), ("Last-Event-ID", "-1"), ("Last-Event-ID", "3"), ("Last-Event-ID", "99999999999999999999999")),
                    Gen.Elements<(string, string)?>(
                        null, ("Authorization", "Bearer nonsense"), ("Accept", "text/event-stream"), ("Accept", "text/event-stream;q=abc, */*;q=-1"),
                        ("Prefer", "respond-async"), ("Prefer", "respond-async, wait=abc"), ("Prefer", new string('x', 5000)), ("Accept-Charset", "ebcdic"))))
            .Select(h => new[] { h.Item1, h.Item2.Item1, h.Item2.Item2 }.OfType<(string, string)>().ToArray());
        var contentTypes = Gen.Elements<string?>(
            "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "garbage/", null,
            "application/json; charset=ebcdic", "application/json; charset=\"", "*/*", "multipart/form-data", "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"unterminated", "multipart/form-data; boundary=x", "multipart/form-data; boundary=x; boundary=y",
            $"multipart/form-data; boundary={new string('b', 71)}", $"multipart/form-data; boundary={new string('b', 5000)}");
        var bodies = Gen.Frequency(
            (5, Json(3, runIds, workflowIds).Select(j => (byte[]?)Encoding.UTF8.GetBytes(j?.ToJsonString() ?? "null"))),
            (5, Mutated(runIds).Select(j => (byte[]?)Encoding.UTF8.GetBytes(j))),
            (3, Mutated(runIds).SelectMany(j => Gen.Elements(InvalidUtf8).Select(bad => (byte[]?)WithBytesInFirstString(j, bad)))),
            (2, Hostile().Select(j => (byte[]?)Encoding.UTF8.GetBytes(j))),
            (2, Gen.Elements<byte[]?>(null, [], "{"u8.ToArray(), "[1,"u8.ToArray(), [0xff, 0xfe, 0x00], Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)))),
            (2, Gen.Elements(MultipartBodies).Select(b => (byte[]?)Encoding.UTF8.GetBytes(b))));
        return Gen.Zip(paths, Gen.Zip(Gen.Zip(bodies, contentTypes), headers))
            .Select(r => new FuzzRequest(r.Item1.Item1, r.Item1.Item2, r.Item2.Item1.Item2, r.Item2.Item1.Item1, r.Item2.Item2));
    }

    /// <summary>Multipart bodies for the boundary `x`: files without names, parts without dispositions, cut bodies, huge part headers.</summary>
    private static readonly string[] MultipartBodies =
    [
        "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\nabc\r\n--x--\r\n",
        "--x\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''\r\n\r\nabc\r\n--x--\r\n",
        "--x\r\nContent-Type: text/plain\r\n\r\nabc\r\n--x--\r\n",
        "--x\r\nContent-Disposition: form-data; name=\"run_input\"\r\n\r\n{\"user_message\":\"123456\"}\r\n",
        "--x\r\nContent-Disposition: form-data; name=\"run_id\"\r\n\r\n" + new string('9', 100) + "\r\n--x--\r\n",
        "--x\r\nX-Long: " + new string('h', 20_000) + "\r\n\r\nabc\r\n--x--\r\n",
        "--x\r\nContent-Disposition: form-data; name=\"items\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nname\r\n\"unclosed\r\n--x--\r\n",
        "--x--\r\n",
    ];

    /// <summary>Byte sequences that are not UTF-8: a stray byte, an overlong encoding, an encoded surrogate, a cut sequence.</summary>
    private static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80]];

    /// <summary>JSON text (not values: a lone surrogate cannot be built as a .NET string and written) no store keeps as it is.</summary>
    private static readonly string[] HostileValues =
    [
        "\"\\ud800\"", "\"a\\udc00b\"", "\"\\udc00\\ud800\"", "\"a\\u0000b\"", "{\"a\":1,\"a\":2}", "{\"\\ud83d\":1}", "{\"n\\u0000\":1}",
        BadInputTests.Nested(60), BadInputTests.Nested(61), BadInputTests.Nested(62), BadInputTests.Nested(70), BadInputTests.Nested(500),
    ];

    /// <summary>Patterns that backtrack catastrophically, or use what linear-time matching refuses.</summary>
    private static readonly string[] HostilePatterns = ["^(a+)+$", "(a|a)*b", "(.*)*x", "^(\\\\w+\\\\s?)*$", "(a)\\\\1", "(?<=a)b", "(?>a+)b"];

    /// <summary>Bodies of every endpoint with a hostile value in one place, and workflows with hostile patterns.</summary>
    private static Gen<string> Hostile() => Gen.OneOf(
        Gen.Elements(HostileValues).SelectMany(v => Gen.Elements(
            $$$"""{"run_input":{"user_message":{{{v}}}}}""",
            $$$"""{"run_input":{"dynamic_variables":{"x":{{{v}}}},"run_by":{{{v}}}}}""",
            $$$"""{"run_input":{"miscellaneous":{{{v}}}}}""",
            $$$"""{"run_ids":[{{{v}}}],"reason":{{{v}}}}""",
            $$$"""{"turn_number":1,"extra":{{{v}}}}""",
            $$$"""{"name":{{{v}}},"start":"a","nodes":[{"id":"a","type":"end"}]}""",
            $$$"""{"name":"n","description":{{{v}}},"start":"a","nodes":[{"id":"a","type":"set","assign":{"x":{{{v}}}},"next":"b"},{"id":"b","type":"end"}]}""")),
        Gen.Elements(HostilePatterns).SelectMany(p => Gen.Elements(
            $$$"""{"name":"p","start":"q","nodes":[{"id":"q","type":"ask","prompt":"?","variable":"said","next":"b"},{"id":"b","type":"branch","cases":[{"when":{"var":"said","op":"matches","value":"{{{p}}}"},"next":"e"}],"default":"e"},{"id":"e","type":"end"}]}""",
            $$$"""{"name":"p","start":"q","nodes":[{"id":"q","type":"ask","prompt":"?","variable":"said","input":{"kind":"text","pattern":"{{{p}}}"},"next":"e"},{"id":"e","type":"end"}]}""")));

    /// <summary>The body with <paramref name="bytes"/> put inside its first string value.</summary>
    private static byte[] WithBytesInFirstString(string json, byte[] bytes)
    {
        var at = json.IndexOf(":\"", StringComparison.Ordinal);
        if (at < 0)
        {
            return [.. Encoding.UTF8.GetBytes(json), .. bytes];
        }

        return [.. Encoding.UTF8.GetBytes(json[..(at + 2)]), .. bytes, .. Encoding.UTF8.GetBytes(json[(at + 2)..])];
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

public sealed class SqliteFuzzTests() : FuzzTests(new SqliteStoreUnderTest())
{
    protected override string StoredDigest()
    {
        using var connection = new SqliteConnection($"Data Source={Factory.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) || ':' || COALESCE(SUM(version), 0) || ':' || COALESCE(MAX(updated_at), '') FROM runs)
                || '|' || (SELECT COUNT(*) || ':' || COALESCE(SUM(length(events)), 0) FROM run_turns)
                || '|' || (SELECT COUNT(*) || ':' || COALESCE(SUM(length(doc)), 0) FROM workflows) || '|' || (SELECT COUNT(*) FROM workflow_versions);
            """;
        return (string)command.ExecuteScalar()!;
    }
}

public sealed class PostgresFuzzTests() : FuzzTests(new PostgresStoreUnderTest())
{
    protected override string StoredDigest()
    {
        using var connection = new Npgsql.NpgsqlConnection(((PostgresStoreUnderTest)Store).ConnectionString);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(
            """
            SELECT (SELECT COUNT(*) || ':' || COALESCE(SUM(version), 0) || ':' || COALESCE(MAX(updated_at)::text, '') FROM runs)
                || '|' || (SELECT COUNT(*) || ':' || COALESCE(SUM(length(events::text)), 0) FROM run_turns)
                || '|' || (SELECT COUNT(*) || ':' || COALESCE(SUM(length(doc::text)), 0) FROM workflows) || '|' || (SELECT COUNT(*) FROM workflow_versions);
            """,
            connection);
        return (string)command.ExecuteScalar()!;
    }
}
