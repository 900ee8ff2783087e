// The benchmark's floors: what a turn cannot cost less than on this machine. An ASP.NET Core server that answers the
// execute request with fixed bytes (the HTTP floor), or that also commits one SQLite transaction per request, a row of
// about a turn's size in a WAL file written by one connection (the SQLite floor), or one PostgreSQL transaction per
// request, the same row inserted in one round trip that waits for the WAL flush (the PostgreSQL floor).
//   dotnet Floor.dll <port>                            fixed bytes
//   dotnet Floor.dll <port> <file> [NORMAL|FULL]       plus one SQLite transaction per request
//   dotnet Floor.dll <port> <file> FULL-GROUP          plus the same row per request, written by one writer that commits
//                                                      the requests waiting together in one transaction (group commit, as
//                                                      Sessions' own writer): the least an fsync per commit can cost
//   dotnet Floor.dll <port> <file> SESSIONS-STORE      plus, per request, the next turn of the suite's conversation committed
//                                                      through Sessions' own SQLite store, with the rows Sessions stores for
//                                                      it and nothing else done (StoreFloor): what storing a turn costs
//   dotnet Floor.dll <port> postgres <connection>      plus one PostgreSQL transaction per request
//   dotnet Floor.dll <port> postgres <connection> SESSIONS-STORE
//                                                      plus, per request, the next turn of the suite's conversation committed
//                                                      through Sessions' own PostgreSQL store, as SESSIONS-STORE does on SQLite
using Microsoft.Data.Sqlite;
using Npgsql;

var port = int.Parse(args[0]);
var postgres = args.Length > 2 && args[1] == "postgres" ? args[2] : null;
var file = args.Length > 1 && postgres is null ? args[1] : null;
var synchronous = postgres is null ? args.Length > 2 ? args[2] : "NORMAL" : args.Length > 3 ? args[3] : "";
var grouped = synchronous.EndsWith("-GROUP", StringComparison.Ordinal);
var sessionsStore = synchronous != "SESSIONS-STORE" ? null
    : postgres is null ? await StoreFloor.OpenSqliteAsync(file!) : await StoreFloor.OpenPostgresAsync(postgres);
synchronous = synchronous.Replace("-GROUP", "", StringComparison.Ordinal);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
var app = builder.Build();

var answer = """{"run_id":"6b02b2c2f5543e06de4bda7a","status":"waiting_for_user_input","turn_number":1,"events":[],"next_input_hint":{"prompt":"Your name?"}}"""u8.ToArray();
var payload = new string('x', 1500);
SqliteConnection? connection = null;
var writer = new SemaphoreSlim(1, 1);
if (file is not null && sessionsStore is null)
{
    connection = new SqliteConnection($"Data Source={file}");
    connection.Open();
    using var setup = connection.CreateCommand();
    setup.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, body TEXT NOT NULL);";
    setup.ExecuteNonQuery();
}

var waiting = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource>(new() { SingleReader = true });
if (grouped)
{
    _ = Task.Run(async () =>
    {
        var group = new List<TaskCompletionSource>();
        while (await waiting.Reader.WaitToReadAsync())
        {
            group.Clear();
            while (waiting.Reader.TryRead(out var request))
            {
                group.Add(request);
            }

            using (var transaction = connection!.BeginTransaction())
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO turns (body) VALUES ($body);";
                insert.Parameters.AddWithValue("$body", payload);
                group.ForEach(_ => insert.ExecuteNonQuery());
                transaction.Commit();
            }

            group.ForEach(request => request.SetResult());
        }
    });
}

NpgsqlDataSource? dataSource = null;
if (postgres is not null && sessionsStore is null)
{
    // Prepared once per connection, as Sessions' own statements are; synchronous_commit stays on (the default).
    dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(postgres) { MaxAutoPrepare = 8, AutoPrepareMinUsages = 2, NoResetOnClose = true }.ConnectionString);
    await using var setup = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS turns (id bigserial PRIMARY KEY, body text NOT NULL);");
    await setup.ExecuteNonQueryAsync();
}

app.MapGet("/alive", () => Results.Ok());
app.MapPost("/v1/workflows/{id}/execute", async (HttpContext context) =>
{
    if (sessionsStore is not null)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var turnAnswer = await sessionsStore.TurnAsync(StoreFloor.RunIdOf(body.ToArray()));
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(turnAnswer);
        return;
    }

    using (var reader = new StreamReader(context.Request.Body))
    {
        await reader.ReadToEndAsync();
    }

    if (grouped)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.Writer.TryWrite(written);
        await written.Task;
    }
    else if (connection is not null)
    {
        await writer.WaitAsync();
        try
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO turns (body) VALUES ($body);";
            insert.Parameters.AddWithValue("$body", payload);
            insert.ExecuteNonQuery();
            transaction.Commit();
        }
        finally
        {
            writer.Release();
        }
    }

    if (dataSource is not null)
    {
        await using var insert = dataSource.CreateCommand("INSERT INTO turns (body) VALUES ($1);");
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await insert.ExecuteNonQueryAsync();
    }

    context.Response.ContentType = "application/json";
    await context.Response.Body.WriteAsync(answer);
});

app.Run();
