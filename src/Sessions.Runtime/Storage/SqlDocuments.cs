using System.Data.Common;
using System.Text.Json;
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
}
