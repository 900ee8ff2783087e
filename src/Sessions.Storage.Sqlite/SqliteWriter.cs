using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Sessions.Storage.Sqlite;

/// <summary>
/// The one writer of the database file. Every write is queued here and run on one connection; writes that queue while
/// a commit is under way are run together in the next transaction, each in its own savepoint, and made durable by one
/// commit (one fsync at synchronous=FULL): group commit. So concurrent turns never meet SQLite's write lock or its busy
/// handler, and throughput grows with the number of writers instead of collapsing. A write that fails rolls back to its
/// savepoint alone; a commit that fails fails every write of its group. Nothing is acknowledged before its commit.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    /// <summary>How many writes one transaction takes at most, so that one slow group cannot hold many waiting callers.</summary>
    private const int MaxGroup = 256;

    private readonly Channel<Write> queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<CancellationToken, Task<SqliteConnection>> open;
    private readonly ILogger logger;
    private readonly Task loop;

    public SqliteWriter(Func<CancellationToken, Task<SqliteConnection>> open, ILogger logger)
    {
        this.open = open;
        this.logger = logger;
        loop = Task.Run(LoopAsync);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in the next group's transaction and returns its result once that group is durable.
    /// The work must use the given connection and transaction, and must not keep them.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var write = new Write(async (connection, transaction) => await work(connection, transaction), cancellationToken);
        if (!queue.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(SqliteWriter));
        }

        // Not cancellable once queued: a caller must learn whether its write was committed.
        return (T)(await write.Done.Task)!;
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop;
    }

    private async Task LoopAsync()
    {
        SqliteConnection? connection = null;
        var group = new List<Write>(MaxGroup);
        try
        {
            while (await queue.Reader.WaitToReadAsync())
            {
                group.Clear();
                while (group.Count < MaxGroup && queue.Reader.TryRead(out var write))
                {
                    if (write.CancellationToken.IsCancellationRequested)
                    {
                        write.Done.TrySetCanceled(write.CancellationToken);
                    }
                    else
                    {
                        group.Add(write);
                    }
                }

                if (group.Count == 0)
                {
                    continue;
                }

                try
                {
                    connection ??= await OpenAsync();
                    await CommitGroupAsync(connection, group);
                }
                catch (Exception ex)
                {
                    // The file itself failed (disk full, I/O error): no write of the group happened. Start afresh.
                    logger.LogError(ex, "A group of {Count} writes to the SQLite store failed", group.Count);
                    group.ForEach(w => w.Done.TrySetException(ex));
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = await open(CancellationToken.None);
        await using var pragma = connection.CreateCommand();

        // Each write runs in a savepoint, whose journal SQLite would otherwise keep in a temporary file opened and
        // deleted per group; in memory it costs nothing. A larger page cache keeps the indexes a turn touches at hand.
        pragma.CommandText = "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;";
        await pragma.ExecuteNonQueryAsync();
        return connection;
    }

    private static async Task CommitGroupAsync(SqliteConnection connection, List<Write> group)
    {
        if (group.Count == 1)
        {
            await CommitAloneAsync(connection, group[0]);
            return;
        }

        var results = new object?[group.Count];
        var failures = new Exception?[group.Count];
        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            for (var i = 0; i < group.Count; i++)
            {
                await Savepoint(connection, transaction, "SAVEPOINT write;");
                try
                {
                    results[i] = await group[i].Work(connection, transaction);
                    await Savepoint(connection, transaction, "RELEASE write;");
                }
                catch (Exception ex)
                {
                    await Savepoint(connection, transaction, "ROLLBACK TO write;");
                    await Savepoint(connection, transaction, "RELEASE write;");
                    failures[i] = ex;
                }
            }

            await transaction.CommitAsync();
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                group[i].Done.TrySetException(failure);
            }
            else
            {
                group[i].Done.TrySetResult(results[i]);
            }
        }
    }

    /// <summary>
    /// A write that found no other waiting, as a lone conversation's turns always do: its own transaction, without the
    /// savepoint that only keeps one write's failure from the others of a group.
    /// </summary>
    private static async Task CommitAloneAsync(SqliteConnection connection, Write write)
    {
        object? result;
        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            try
            {
                result = await write.Work(connection, transaction);
            }
            catch (Exception ex)
            {
                await transaction.RollbackAsync();
                write.Done.TrySetException(ex);
                return;
            }

            await transaction.CommitAsync();
        }

        write.Done.TrySetResult(result);
    }

    private static Task<int> Savepoint(SqliteConnection connection, SqliteTransaction transaction, string sql) =>
        WriterStatements.Get(connection, transaction, sql).ExecuteNonQueryAsync();

    private sealed record Write(Func<SqliteConnection, SqliteTransaction, Task<object?>> Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<object?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
