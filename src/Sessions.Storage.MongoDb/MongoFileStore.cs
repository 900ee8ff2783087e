using System.Text.Json;
using System.Text.Json.Nodes;
using MongoDB.Bson;
using MongoDB.Driver;
using Sessions.Runtime.Files;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Runs;

namespace Sessions.Storage.MongoDb;

/// <summary>Files in pieces (`file_chunks`, one document per piece), and the files committed turns made their runs' (`run_files`).</summary>
public sealed class MongoFileStore(MongoDatabase database) : IFileStore
{
    private IMongoCollection<BsonDocument> Chunks => database.Collection(MongoSchema.FileChunks);

    private IMongoCollection<BsonDocument> Files => database.Collection(MongoSchema.RunFiles);

    public Task InsertChunkAsync(string tenantId, string fileId, int index, ReadOnlyMemory<byte> data, DateTimeOffset at, CancellationToken cancellationToken) =>
        Chunks.InsertOneAsync(StoredDocuments.Chunk(tenantId, fileId, index, data, at), cancellationToken: cancellationToken);

    public Task DeleteChunksAsync(string tenantId, string fileId, CancellationToken cancellationToken) =>
        Chunks.DeleteManyAsync(MongoFilters.ChunksOf(tenantId, fileId), cancellationToken);

    public async Task<StoredFile?> GetAsync(string tenantId, string runId, string fileId, CancellationToken cancellationToken)
    {
        var found = await Files.Find(MongoFilters.FileOfRun(tenantId, runId, fileId)).FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : StoredDocuments.File(found);
    }

    public async Task<byte[]?> ReadChunkAsync(string tenantId, string fileId, int index, CancellationToken cancellationToken)
    {
        var found = await Chunks.Find(MongoFilters.Chunk(tenantId, fileId, index)).FirstOrDefaultAsync(cancellationToken);
        return found?["data"].AsBsonBinaryData.Bytes;
    }

    /// <summary>Pieces old enough, less those of files some run has: the two lookups a document store needs for a join.</summary>
    public async Task<int> DeleteOrphanChunksAsync(string? tenantId, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var old = await Chunks.Distinct<string>("file_id", MongoFilters.ChunksWrittenBefore(tenantId, before), cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        if (old.Count == 0)
        {
            return 0;
        }

        var kept = await Files.Distinct<ObjectId>("_id", MongoFilters.FilesAmong(old), cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        var orphans = old.Except(kept.Select(id => id.ToString())).ToList();
        return orphans.Count == 0 ? 0 : (int)(await Chunks.DeleteManyAsync(MongoFilters.ChunksOfFiles(orphans) & MongoFilters.ChunksWrittenBefore(tenantId, before), cancellationToken)).DeletedCount;
    }

    /// <summary>A turn's files, in its commit's transaction; one the run already has is left as it is.</summary>
    internal static async Task InsertFilesAsync(IMongoCollection<BsonDocument> files, IClientSessionHandle session, string tenantId, string runId, IReadOnlyList<StoredFile> stored, CancellationToken cancellationToken)
    {
        foreach (var file in stored)
        {
            await files.ReplaceOneAsync(
                session,
                MongoFilters.Owned(tenantId, file.FileId),
                StoredDocuments.File(file, tenantId, runId),
                new ReplaceOptions { IsUpsert = true },
                cancellationToken);
        }
    }
}
