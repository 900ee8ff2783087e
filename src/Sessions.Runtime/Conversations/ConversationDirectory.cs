using System.Text.Json.Nodes;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Storage;

namespace Sessions.Runtime.Conversations;

/// <summary>
/// The names protocol adapters give conversations, scoped like runs: a caller sees its tenant's, and a viewer only those
/// it made. A name is given once; whoever gives it second gets the first link, so two first messages of one new chat
/// start one run.
/// </summary>
public sealed class ConversationDirectory(IConversationStore store, TimeProvider clock)
{
    /// <summary>The conversation named <paramref name="externalId"/>, if the scope sees it.</summary>
    public async Task<ConversationLink?> FindAsync(RunScope scope, string protocol, string externalId, CancellationToken cancellationToken) =>
        await store.GetAsync(scope.TenantId, protocol, externalId, cancellationToken) is { } link && scope.Owns(link.TenantId, link.CreatedBy) ? link : null;

    /// <summary>
    /// Names a conversation, for the run <paramref name="runId"/> (a new id when null); when the name is taken already,
    /// the conversation that has it, whichever run that is.
    /// </summary>
    public Task<ConversationLink> NameAsync(RunScope scope, string protocol, string externalId, string? runId, JsonObject? metadata, string principal, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var link = new ConversationLink(scope.TenantId, protocol, externalId, runId ?? ObjectId.NewId(now).ToString(), metadata ?? [], principal, now, now);
        return store.AddAsync(link, cancellationToken);
    }

    /// <summary>Replaces a conversation's metadata; false when the scope sees no such conversation.</summary>
    public async Task<bool> SetMetadataAsync(RunScope scope, ConversationLink link, JsonObject metadata, CancellationToken cancellationToken) =>
        scope.Owns(link.TenantId, link.CreatedBy)
        && await store.SetMetadataAsync(link.TenantId, link.Protocol, link.ExternalId, metadata, clock.GetUtcNow(), cancellationToken);

    /// <summary>Forgets a conversation's name (its run is the run facade's to delete).</summary>
    public async Task<bool> ForgetAsync(RunScope scope, ConversationLink link, CancellationToken cancellationToken) =>
        scope.Owns(link.TenantId, link.CreatedBy) && await store.DeleteAsync(link.TenantId, link.Protocol, link.ExternalId, cancellationToken);

    /// <summary>The protocol's conversations the scope sees, newest first.</summary>
    public Task<IReadOnlyList<ConversationLink>> ListAsync(RunScope scope, string protocol, int offset, int limit, CancellationToken cancellationToken) =>
        store.ListAsync(scope.TenantId, protocol, scope.OnlyRunsBy, offset, limit, cancellationToken);
}
