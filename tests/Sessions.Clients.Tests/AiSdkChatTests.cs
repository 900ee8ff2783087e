using Xunit.Abstractions;

namespace Sessions.Clients.Tests;

/// <summary>
/// The AI SDK's chat client (`ai` 7.0.173, unmodified: DefaultChatTransport and readUIMessageStream, what useChat runs
/// on) against the real server's chat endpoint: tests/clients/ai-sdk.test.mjs, once per store.
/// </summary>
public abstract class AiSdkChatTests(Store store, ITestOutputHelper output)
{
    [Fact]
    public async Task The_ai_sdk_chats_with_a_workflow_to_its_end()
    {
        await using var server = await ProtocolServer.StartAsync(store);
        await ClientPackages.RunNodeTestAsync(server, server.Environment, output, "ai-sdk.test.mjs");
    }

    [Fact]
    public async Task The_ai_sdk_chats_with_an_identity_providers_token_as_with_a_key()
    {
        await using var server = await ProtocolServer.StartAsync(store, withTokens: true);
        await ClientPackages.RunNodeTestAsync(server, server.Environment, output, "ai-sdk.test.mjs");
    }
}

public sealed class SqliteAiSdkChatTests(ITestOutputHelper output) : AiSdkChatTests(Store.Sqlite, output);

public sealed class PostgresAiSdkChatTests(ITestOutputHelper output) : AiSdkChatTests(Store.Postgres, output);
