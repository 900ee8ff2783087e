using System.Data.Common;
using System.Text.Json;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Values;

namespace Sessions.Runtime.Storage;

/// <summary>What the SQL stores share about reading documents back: the JSON text in a query's first column.</summary>
public static class SqlDocuments
{
    public static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbCommand command, CancellationToken cancellationToken)
    {
        var found = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(JsonSerializer.Deserialize<T>(reader.GetString(0), DocumentJson.Options)!);
        }

        return found;
    }

    /// <summary>The statuses of runs waiting for people, as a SQL list: what <see cref="IRunStore.CountWaitingAsync"/> counts.</summary>
    public static readonly string WaitingStatuses = string.Join(", ", RunMachine.WaitingForPeople.Select(s => $"'{s.ToWire()}'"));

    /// <summary>Reads rows of (tenant_id, workflow_id, status, count).</summary>
    public static async Task<IReadOnlyList<RunCount>> ReadCountsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var found = new List<RunCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new RunCount(reader.GetString(0), reader.GetString(1), RunStatusNames.FromWire(reader.GetString(2)), reader.GetInt64(3)));
        }

        return found;
    }
}
