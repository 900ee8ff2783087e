using Npgsql;

namespace Sessions.Testing;

/// <summary>
/// A database of its own on the PostgreSQL server that `.ci/run` installs and starts, dropped afterwards.
/// SESSIONS_TEST_POSTGRES overrides the server (its Database is only used to create and drop the test's own).
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=sessions;Password=sessions;Database=postgres";

    private TestPostgres(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    private static string Server => Environment.GetEnvironmentVariable("SESSIONS_TEST_POSTGRES") is { Length: > 0 } server ? server : DefaultServer;

    public static async Task<TestPostgres> CreateAsync()
    {
        var name = $"sessions_test_{Guid.NewGuid():n}";
        try
        {
            await using var connection = new NpgsqlConnection(Server);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"These tests need a PostgreSQL server at '{new NpgsqlConnectionStringBuilder(Server) { Password = null }}' with a role that may create databases. "
                + "Run `bash .ci/run` once (it installs and starts one), or set SESSIONS_TEST_POSTGRES. " + ex.Message,
                ex);
        }

        return new TestPostgres(name, new NpgsqlConnectionStringBuilder(Server) { Database = name }.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(Server);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE);", connection);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 50)
            {
                // An autovacuum worker of the server's own role may be visiting the database; a test role may not end
                // it, so wait for it to finish.
                await Task.Delay(200);
            }
        }
    }
}
