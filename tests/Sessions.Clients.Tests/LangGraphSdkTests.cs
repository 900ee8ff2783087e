using Xunit.Abstractions;

namespace Sessions.Clients.Tests;

/// <summary>
/// LangGraph's SDK (`@langchain/langgraph-sdk`, the 1.15.0 that npm calls latest and the deprecated 2.0.0), unmodified,
/// drives the real server through the Agent Server API: tests/clients/langgraph.test.mjs, one `node --test` run per
/// SDK and store. The script's own report is this test's output.
/// </summary>
public abstract class LangGraphSdkTests(Store store, ITestOutputHelper output)
{
    [Theory]
    [InlineData("@langchain/langgraph-sdk")]
    [InlineData("langgraph-sdk-2")]
    public async Task The_sdk_drives_conversations_through_the_agent_server_api(string sdk)
    {
        await using var server = await ProtocolServer.StartAsync(store);
        var environment = server.Environment;
        environment["LANGGRAPH_SDK"] = sdk;
        await ClientPackages.RunNodeTestAsync(server, environment, output, "langgraph.test.mjs");
    }

    [Fact]
    public async Task The_sdk_signs_in_with_an_identity_providers_token_as_with_a_key()
    {
        // The same script, with an issuer's tokens where the keys were: the SDK sends them as x-api-key, the REST calls as Bearer.
        await using var server = await ProtocolServer.StartAsync(store, withTokens: true);
        await ClientPackages.RunNodeTestAsync(server, server.Environment, output, "langgraph.test.mjs");
    }
}

public sealed class SqliteLangGraphSdkTests(ITestOutputHelper output) : LangGraphSdkTests(Store.Sqlite, output);

public sealed class PostgresLangGraphSdkTests(ITestOutputHelper output) : LangGraphSdkTests(Store.Postgres, output);
