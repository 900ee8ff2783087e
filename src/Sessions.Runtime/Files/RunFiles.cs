using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Files;

/// <summary>
/// Files sent with turns: stored piece by piece as they arrive (a request never holds more than one piece of a file),
/// hashed on the way, and bounded by <see cref="FileOptions.MaxBytes"/>. A file belongs to a run once the turn it came
/// with commits (<see cref="TurnCommit.Files"/>); until then it is pieces no read can reach, erased if the turn is
/// refused and, should its server die first, by a later purge.
/// </summary>
public sealed class RunFiles(IFileStore files, IRunStore runs, IOptions<FileOptions> options, TimeProvider clock)
{
    public long MaxBytes => options.Value.MaxBytes;

    public int MaxFilesPerTurn => options.Value.MaxFilesPerTurn;

    /// <summary>Stores <paramref name="content"/> to its end; a file over the limit is a 413, and nothing of it stays.</summary>
    public async Task<StoredFile> SaveAsync(string tenantId, string name, string contentType, Stream content, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var fileId = ObjectId.NewId(now).ToString();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[StoredFile.ChunkBytes];
        long size = 0;
        try
        {
            for (var index = 0; ; index++)
            {
                var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                if (filled == 0)
                {
                    break;
                }

                size += filled;
                if (size > options.Value.MaxBytes)
                {
                    throw TooLarge(name, options.Value.MaxBytes);
                }

                hash.AppendData(buffer, 0, filled);
                await files.InsertChunkAsync(tenantId, fileId, index, buffer.AsMemory(0, filled), now, cancellationToken);
                if (filled < buffer.Length)
                {
                    break;
                }
            }
        }
        catch
        {
            await files.DeleteChunksAsync(tenantId, fileId, CancellationToken.None);
            throw;
        }

        return new StoredFile(fileId, name, contentType, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Erases files whose turn will not commit them (a refused request).</summary>
    public async Task DiscardAsync(string tenantId, IEnumerable<StoredFile> discarded)
    {
        foreach (var file in discarded)
        {
            await files.DeleteChunksAsync(tenantId, file.FileId, CancellationToken.None);
        }
    }

    /// <summary>A file of a run the scope sees; a 404 for one it does not, as for one that does not exist.</summary>
    public async Task<StoredFile> GetAsync(RunScope scope, string runId, string fileId, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(scope.TenantId, runId, cancellationToken) is not { } run || !scope.CanSee(run))
        {
            throw ProblemCodes.NotFound(ProblemCodes.RunNotFound, "Run", runId);
        }

        return await files.GetAsync(scope.TenantId, runId, fileId, cancellationToken) ?? throw ProblemCodes.NotFound(ProblemCodes.FileNotFound, "File", fileId);
    }

    /// <summary>The file's bytes, one piece at a time, in order.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(string tenantId, StoredFile file, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var index = 0; index < file.ChunkCount; index++)
        {
            yield return await files.ReadChunkAsync(tenantId, file.FileId, index, cancellationToken)
                ?? throw new InvalidOperationException($"File {file.FileId} has lost its piece {index}.");
        }
    }

    /// <summary>
    /// Erases the pieces of files whose turn never committed, once they are older than a turn could take: the tenant's,
    /// or every tenant's when <paramref name="tenantId"/> is null.
    /// </summary>
    public Task<int> PurgeOrphansAsync(string? tenantId, CancellationToken cancellationToken) =>
        files.DeleteOrphanChunksAsync(tenantId, clock.GetUtcNow() - options.Value.OrphanAge, cancellationToken);

    private static DomainException TooLarge(string name, long limit) =>
        new DomainException(ErrorKind.PayloadTooLarge, ProblemCodes.FileTooLarge, "File too large", $"The file '{name}' is larger than {limit} bytes.")
            .With("max_bytes", limit);
}
