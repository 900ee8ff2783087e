using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// Files sent with turns as multipart/form-data, through HTTP on every store: stored in pieces as they stream in,
/// given to the run as variables or as the reply to a file `ask`, served back byte for byte, bounded, never kept for a
/// refused request, and erased with their run.
/// </summary>
public abstract class FileTests(StoreUnderTest store) : IAsyncLifetime
{
    private const long MaxFileBytes = 4 * 1024 * 1024;
    private SessionsFactory factory = null!;
    private HttpClient client = null!;

    private const string Intake = """
        { "name": "Intake", "start": "hello", "nodes": [
          { "id": "hello", "type": "say", "text": "Got {{contract.name}} ({{contract.size}} bytes)", "next": "photo" },
          { "id": "photo", "type": "ask", "prompt": "A photo of the damage?", "variable": "photo",
            "input": { "kind": "file", "max_bytes": 1000, "content_types": ["image/*"] }, "next": "done" },
          { "id": "done", "type": "end", "output": { "contract": "{{contract}}", "photo": "{{photo}}" } } ] }
        """;

    public async Task InitializeAsync()
    {
        var settings = await store.SettingsAsync();
        settings["Sessions:Files:MaxBytes"] = MaxFileBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        factory = new SessionsFactory(null, settings);
        client = factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await store.DisposeAsync();
    }

    [ServerFact]
    public async Task A_file_larger_than_a_request_body_may_be_is_a_variable_and_comes_back_byte_for_byte()
    {
        var workflow = await client.UploadAsync(Intake);

        // Larger than the 256 KiB a JSON body may be, and not a whole number of the pieces it is stored in.
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 12345);
        var started = await SendAsync(workflow, """{ "metadata": { "case": "c-1" } }""", null, ("contract", "contract ü.pdf", "application/pdf", bytes));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var answer = await started.ReadObjectAsync();
        Assert.Equal("waiting_for_user_input", answer["status"]!.GetValue<string>());
        Assert.Contains(answer["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == $"Got contract ü.pdf ({bytes.Length} bytes)");

        var runId = answer["run_id"]!.GetValue<string>();
        var run = await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync();
        var contract = run["variables"]!["contract"]!;
        Assert.Equal(("contract ü.pdf", "application/pdf", bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes))),
            (contract["name"]!.GetValue<string>(), contract["content_type"]!.GetValue<string>(), contract["size"]!.GetValue<long>(), contract["sha256"]!.GetValue<string>()));

        // The turn's record shows what came with it.
        var turn = await (await client.GetAsync($"/v1/runs/{runId}/turns/1")).ReadObjectAsync();
        Assert.Equal(contract["file_id"]!.GetValue<string>(), turn["input"]!["files"]!["contract"]!["file_id"]!.GetValue<string>());

        var served = await client.GetAsync($"/v1/runs/{runId}/files/{contract["file_id"]}");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("application/pdf", served.Content.Headers.ContentType!.MediaType);
        Assert.Equal(bytes.LongLength, served.Content.Headers.ContentLength);
        Assert.Equal($"\"{contract["sha256"]}\"", served.Headers.ETag!.Tag);
        Assert.Equal("attachment", served.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal("contract ü.pdf", served.Content.Headers.ContentDisposition.FileNameStar);
        Assert.Equal("nosniff", served.Headers.GetValues("X-Content-Type-Options").Single());
        var back = await served.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.AsSpan().SequenceEqual(back), "the bytes served back differ from those sent");

        // Another run's id, an unknown file, a malformed id: not found, or a 400.
        var other = (await client.StartAsync(await client.UploadAsync(Intake.Replace("Intake", "Other"))))["run_id"]!.GetValue<string>();
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{other}/files/{contract["file_id"]}"), HttpStatusCode.NotFound, "file_not_found");
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{runId}/files/{other}"), HttpStatusCode.NotFound, "file_not_found");
        await AssertProblemAsync(await client.GetAsync($"/v1/runs/{runId}/files/not-an-id"), HttpStatusCode.BadRequest, "malformed_id");
    }

    [ServerFact]
    public async Task A_file_ask_takes_one_file_of_its_kind_and_refuses_anything_else_leaving_the_run_as_it_was()
    {
        var workflow = await client.UploadAsync(Intake);
        var runId = (await (await SendAsync(workflow, "{}", null, ("contract", "c.pdf", "application/pdf", [1, 2, 3]))).ReadObjectAsync())["run_id"]!.GetValue<string>();
        var pieces = await store.FilePiecesAsync(factory);

        var text = await client.ExecuteAsync(workflow, new { run_id = runId, run_input = new { user_message = "here it is" } });
        await AssertProblemAsync(text, HttpStatusCode.UnprocessableEntity, "invalid_reply");
        var wrongType = await SendAsync(workflow, "{}", runId, ("photo", "notes.txt", "text/plain", [65, 66]));
        await AssertProblemAsync(wrongType, HttpStatusCode.UnprocessableEntity, "invalid_reply");
        var tooBig = await SendAsync(workflow, "{}", runId, ("photo", "big.png", "image/png", new byte[1001]));
        await AssertProblemAsync(tooBig, HttpStatusCode.UnprocessableEntity, "invalid_reply");
        var two = await SendAsync(workflow, "{}", runId, ("photo", "a.png", "image/png", [1]), ("other", "b.png", "image/png", [2]));
        await AssertProblemAsync(two, HttpStatusCode.UnprocessableEntity, "invalid_reply");
        Assert.Equal(1, (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["turn_number"]!.GetValue<int>());

        var photo = new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 };
        var accepted = await SendAsync(workflow, """{ "user_message": "the dent" }""", runId, ("photo", "dent.png", "image/png", photo));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var answer = await accepted.ReadObjectAsync();
        Assert.Equal("completed", answer["status"]!.GetValue<string>());
        var said = answer["events"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "user_messages")!;
        Assert.Equal(("the dent", "dent.png"), (said["text"]!.GetValue<string>(), said["file"]!["name"]!.GetValue<string>()));
        var output = (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["output"]!;
        Assert.Equal((8, "image/png"), (output["photo"]!["size"]!.GetValue<int>(), output["photo"]!["content_type"]!.GetValue<string>()));

        // The refused replies' files were erased at once; only the accepted photo's piece was added.
        Assert.Equal(pieces + 1, await store.FilePiecesAsync(factory));
    }

    [ServerFact]
    public async Task Bad_multipart_requests_are_refused_and_keep_nothing()
    {
        var workflow = await client.UploadAsync(Intake);
        var pieces = await store.FilePiecesAsync(factory);

        var over = await SendAsync(workflow, "{}", null, ("contract", "huge.pdf", "application/pdf", new byte[MaxFileBytes + 1]));
        await AssertProblemAsync(over, HttpStatusCode.RequestEntityTooLarge, "file_too_large");
        await AssertProblemAsync(await SendAsync(workflow, "{}", null, ("1bad", "a.pdf", "application/pdf", [1])), HttpStatusCode.BadRequest, "invalid_file");
        await AssertProblemAsync(await SendAsync(workflow, "{ not json", null, ("contract", "a.pdf", "application/pdf", [1])), HttpStatusCode.BadRequest, "malformed_json");
        await AssertProblemAsync(
            await SendAsync(workflow, """{ "files": { "contract": { "file_id": "6b0ff83560b5ad05b81f7a5c", "name": "x", "content_type": "a/b", "size": 1, "sha256": "00" } } }""", null),
            HttpStatusCode.BadRequest,
            "invalid_request");
        await AssertProblemAsync(
            await client.ExecuteAsync(workflow, new { run_input = new { files = new { contract = new { file_id = "6b0ff83560b5ad05b81f7a5c" } } } }),
            HttpStatusCode.BadRequest,
            "invalid_request");

        using var unknownPart = new MultipartFormDataContent { { new StringContent("{}"), "run_input" }, { new StringContent("x"), "surprise" } };
        await AssertProblemAsync(await client.PostAsync($"/v1/workflows/{workflow}/execute", unknownPart), HttpStatusCode.BadRequest, "invalid_request");

        // A body cut off inside a file: refused, and the pieces stored before the cut are erased.
        var cut = new StringContent(
            "--b\r\nContent-Disposition: form-data; name=\"run_input\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"contract\"; filename=\"a.pdf\"\r\n\r\n"
            + new string('x', 600_000), System.Text.Encoding.UTF8);
        cut.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        await AssertProblemAsync(await client.PostAsync($"/v1/workflows/{workflow}/execute", cut), HttpStatusCode.BadRequest, "invalid_request");

        // A refused turn (a run that does not exist) keeps no file either.
        await AssertProblemAsync(await SendAsync(workflow, "{}", "6b0ff83560b5ad05b81f7a5c", ("contract", "a.pdf", "application/pdf", [1])), HttpStatusCode.NotFound, "run_not_found");
        Assert.Equal(pieces, await store.FilePiecesAsync(factory));
    }

    [ServerFact]
    public async Task A_file_sent_with_a_background_turn_is_the_runs_from_its_acceptance_and_reaches_the_turn_when_it_runs()
    {
        var workflow = await client.UploadAsync(Intake);
        var bytes = System.Text.Encoding.UTF8.GetBytes("%PDF-1.7 background");
        var content = new MultipartFormDataContent { { new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), "run_input" } };
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        content.Add(file, "contract", "later.pdf");
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/workflows/{workflow}/execute") { Content = content };
        request.Headers.Add("Prefer", "respond-async");
        var accepted = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var runId = (await accepted.ReadObjectAsync())["run_id"]!.GetValue<string>();

        var joined = await client.GetAsync($"/v1/runs/{runId}/turns/1/result?wait_seconds=30");
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Contains((await joined.ReadObjectAsync())["events"]!.AsArray(), e => e!["text"]?.GetValue<string>() == $"Got later.pdf ({bytes.Length} bytes)");
        var fileId = (await (await client.GetAsync($"/v1/runs/{runId}")).ReadObjectAsync())["variables"]!["contract"]!["file_id"]!.GetValue<string>();
        Assert.Equal(bytes, await client.GetByteArrayAsync($"/v1/runs/{runId}/files/{fileId}"));
    }

    [ServerFact]
    public async Task A_runs_files_are_erased_with_it()
    {
        var workflow = await client.UploadAsync(Intake);
        var runId = (await (await SendAsync(workflow, "{}", null, ("contract", "c.pdf", "application/pdf", RandomNumberGenerator.GetBytes(600_000)))).ReadObjectAsync())["run_id"]!.GetValue<string>();
        var rows = await store.RowsOfRunAsync(factory, runId);
        Assert.Equal((1, 3), (rows["run_files"], rows["file_chunks"]));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/runs/{runId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/runs/purge", null)).StatusCode);
        Assert.All(await store.RowsOfRunAsync(factory, runId), table => Assert.True(table.Value == 0, $"{table.Key} still holds {table.Value} row(s)"));
    }

    private Task<HttpResponseMessage> SendAsync(string workflow, string runInput, string? runId, params (string Part, string Name, string Type, byte[] Bytes)[] files)
    {
        var content = new MultipartFormDataContent { { new StringContent(runInput, System.Text.Encoding.UTF8, "application/json"), "run_input" } };
        if (runId is not null)
        {
            content.Add(new StringContent(runId), "run_id");
        }

        foreach (var (part, name, type, bytes) in files)
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue(type);
            content.Add(file, part, name);
        }

        return client.PostAsync($"/v1/workflows/{workflow}/execute", content);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.StatusCode}: {body}");
        Assert.Equal(code, JsonNode.Parse(body)!["code"]!.GetValue<string>());
    }
}

public sealed class SqliteFileTests() : FileTests(new SqliteStoreUnderTest());

public sealed class PostgresFileTests() : FileTests(new PostgresStoreUnderTest());

[NeedsServer(TestMongo.Variable, TestMongo.Server)]
public sealed class MongoFileTests() : FileTests(new MongoStoreUnderTest());
