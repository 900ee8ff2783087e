using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>
/// A database written by the release before one record per turn (events a row each), kept as a fixture with what that
/// release's API answered for every read of every run (`Fixtures/release-0`, made by its `generate.py`): this server
/// moves the events into their turns at startup and answers every read the same.
/// </summary>
public sealed class StoreUpgradeTests
{
    private static readonly string Fixtures = Path.Combine(Repository.Root, "tests", "Sessions.Api.Tests", "Fixtures", "release-0");

    /// <summary>Nothing runs by itself while the reads are compared: queued turns, timers and pending deliveries stay as they were kept.</summary>
    private static readonly string[] Quiet =
    [
        "--Sessions:Workers:PollMilliseconds=0",
        "--Sessions:Webhooks:PollMilliseconds=0",
        "--Sessions:Webhooks:AllowPrivateNetworks=true",
        "--Sessions:Secrets:default:hooks=fixture-secret",
    ];

    [Fact]
    public async Task A_sqlite_file_of_the_release_before_reads_back_identically_and_keeps_working()
    {
        using var folder = new TempDirectory();
        var path = folder.File("sessions.db");
        File.Copy(Path.Combine(Fixtures, "sessions.db"), path);
        await using (var server = await ServerProcess.StartAsync(path, Quiet))
        {
            await AssertSameReadsAsync(server, "expected-sqlite.json");
            await AssertATurnGoesOnAsync(server);
        }

        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync();
        await using var tables = connection.CreateCommand();
        tables.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_events';";
        Assert.Equal(0L, await tables.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_postgres_dump_of_the_release_before_reads_back_identically_and_keeps_working()
    {
        await using var postgres = await TestPostgres.CreateAsync();
        await RestoreAsync(postgres.ConnectionString, Path.Combine(Fixtures, "postgres.sql"));
        using var folder = new TempDirectory();
        await using (var server = await ServerProcess.StartAsync(
            folder.File("unused.db"),
            [.. Quiet, "--Sessions:Store=postgres", $"--Sessions:Postgres:ConnectionString={postgres.ConnectionString}"]))
        {
            await AssertSameReadsAsync(server, "expected-postgres.json");
            await AssertATurnGoesOnAsync(server);
        }

        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var table = new NpgsqlCommand("SELECT to_regclass('run_events') IS NULL;", connection);
        Assert.Equal(true, await table.ExecuteScalarAsync());
    }

    /// <summary>Every read the release before answered, asked again: the same status and the same body (a problem's trace id aside).</summary>
    private static async Task AssertSameReadsAsync(ServerProcess server, string expectedFile)
    {
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures, expectedFile)))!.AsObject();
        Assert.True(expected.Count > 200, $"{expectedFile} holds {expected.Count} reads");
        var differences = new List<string>();
        foreach (var (path, read) in expected)
        {
            using var response = await server.Client.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            JsonNode? body;
            try
            {
                body = text.Length == 0 ? JsonValue.Create("") : JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                body = JsonValue.Create(text);
            }

            if (body is JsonObject problem && (int)response.StatusCode >= 400)
            {
                problem.Remove("trace_id");
            }

            if ((int)response.StatusCode != read!["status"]!.GetValue<int>() || !JsonNode.DeepEquals(body, read["body"]))
            {
                differences.Add($"{path}: {(int)response.StatusCode} {Shorten(body?.ToJsonString())}\n  was {read["status"]} {Shorten(read["body"]?.ToJsonString())}");
            }
        }

        Assert.True(differences.Count == 0, $"{differences.Count} of {expected.Count} reads differ:\n{string.Join('\n', differences.Take(5))}");
    }

    /// <summary>A run waiting for a reply takes its next turn, whose events follow the upgraded ones without a gap.</summary>
    private static async Task AssertATurnGoesOnAsync(ServerProcess server)
    {
        var runs = JsonNode.Parse(await server.Client.GetStringAsync("/v1/runs?status=waiting_for_user_input&workflow_id=66a1f0000000000000000003&limit=100"))!["items"]!.AsArray();
        var waiting = runs.Select(r => JsonNode.Parse(server.Client.GetStringAsync($"/v1/runs/{r!["run_id"]}").Result)!)
            .First(r => r["next_input_hint"]?["node_id"]?.GetValue<string>() == "ask_date" && r["progress"] is null);
        var runId = waiting["run_id"]!.GetValue<string>();
        var before = JsonNode.Parse(await server.Client.GetStringAsync($"/v1/runs/{runId}/events?after_seq=0&limit=1000"))!["events"]!.AsArray();

        using var turn = await server.Client.PostAsync(
            "/v1/workflows/66a1f0000000000000000003/execute",
            new StringContent($$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"2027-02-03"}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);

        var after = JsonNode.Parse(await server.Client.GetStringAsync($"/v1/runs/{runId}/events?after_seq=0&limit=1000"))!["events"]!.AsArray();
        Assert.True(after.Count > before.Count);
        Assert.Equal(Enumerable.Range(1, after.Count).Select(n => (long)n), after.Select(e => e!["seq"]!.GetValue<long>()));
        Assert.True(JsonNode.DeepEquals(before, new JsonArray(after.Take(before.Count).Select(e => e!.DeepClone()).ToArray())));
    }

    /// <summary>Loads the dump with psql, as an operator restores one.</summary>
    private static async Task RestoreAsync(string connectionString, string dump)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo("psql")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-h", target.Host!, "-p", target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", target.Username!, "-d", target.Database!, "-v", "ON_ERROR_STOP=1", "-q", "-f", dump })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PGPASSWORD"] = target.Password;
        using var psql = Process.Start(start)!;
        var output = psql.StandardOutput.ReadToEndAsync();
        var error = psql.StandardError.ReadToEndAsync();
        await psql.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(psql.ExitCode == 0, $"psql -f {dump}: {await output}{await error}");
    }

    private static string? Shorten(string? text) => text is { Length: > 600 } ? text[..600] + "…" : text;
}
