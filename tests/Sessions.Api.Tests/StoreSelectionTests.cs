using Sessions.Testing;

namespace Sessions.Api.Tests;

/// <summary>`Sessions:Store` picks a provider; a store that cannot be used stops the server with one line saying why.</summary>
public sealed class StoreSelectionTests
{
    [Theory]
    [InlineData("mongodb", "--Sessions:MongoDb:ConnectionString=mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=300",
        "The mongodb store cannot be used: No MongoDB server answered at 127.0.0.1:1 within 0.3 s")]
    [InlineData("postgres", "--Sessions:Postgres:ConnectionString=Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z",
        "The postgres store cannot be used: Failed to connect to 127.0.0.1:1.")]
    public async Task A_store_that_does_not_answer_stops_the_server_with_one_line(string store, string connection, string line)
    {
        using var folder = new TempDirectory();
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync($"--Sessions:Store={store}", connection, $"--Sessions:Sqlite:Path={folder.File("s.db")}");
        Assert.Equal(3, exitCode);
        Assert.StartsWith(line, output.Trim());
        Assert.Single(output.Trim().Split('\n'));
    }

    [Fact]
    public async Task On_mongodb_json_may_nest_at_most_as_deep_as_its_documents_allow()
    {
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync(
            "--Sessions:Store=mongodb", "--Sessions:MongoDb:ConnectionString=mongodb://127.0.0.1:1/?replicaSet=rs0", "--Sessions:Turns:MaxJsonDepth=100");
        Assert.Equal(3, exitCode);
        Assert.Contains("Sessions:Turns:MaxJsonDepth is at most 90 on MongoDB", output);
    }

    [Fact]
    public async Task An_unknown_store_is_named_with_the_choices()
    {
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync("--Sessions:Store=cassandra");
        Assert.Equal(3, exitCode);
        Assert.Equal("Sessions:Store is 'cassandra'; it is 'sqlite', 'postgres' or 'mongodb'.", output.Trim());
    }
}
