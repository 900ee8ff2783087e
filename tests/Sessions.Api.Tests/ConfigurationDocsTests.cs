using System.Reflection;
using System.Text.RegularExpressions;

namespace Sessions.Api.Tests;

/// <summary>
/// The README's configuration table and the options the server binds, held together: every option of every options
/// class (a class with a `Section`) has a line, and every `Sessions:` key a line names is one the server reads.
/// </summary>
public sealed partial class ConfigurationDocsTests
{
    /// <summary>Keys the server reads outside the options classes (the store's name, a tenant's secrets).</summary>
    private static readonly string[] ReadElsewhere = ["Sessions:Store", "Sessions:Secrets"];

    private static readonly Assembly[] Server =
    [
        typeof(Program).Assembly,
        typeof(Sessions.Runtime.Runs.RunMachine).Assembly,
        typeof(Sessions.Nodes.SayHandler).Assembly,
        typeof(Sessions.Storage.Sqlite.SqliteRunStore).Assembly,
        typeof(Sessions.Storage.Postgres.PostgresRunStore).Assembly,
        typeof(Sessions.Storage.MongoDb.MongoRunStore).Assembly,
    ];

    [Fact]
    public void Every_option_has_a_line_in_the_configuration_table_and_every_key_there_is_read()
    {
        var documented = DocumentedKeys();
        var options = Server.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(o => o.Section is not null)
            .ToList();
        Assert.True(options.Count >= 16, $"found only {options.Count} options classes");

        var keys = options.SelectMany(o => o.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => $"{o.Section}:{p.Name}")).ToList();
        var undocumented = keys.Where(key => !documented.Any(d => d.Equals(key, StringComparison.OrdinalIgnoreCase) || d.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)));
        Assert.Empty(undocumented);

        var unread = documented
            .Where(d => d.StartsWith("Sessions:", StringComparison.Ordinal))
            .Where(d => !ReadElsewhere.Any(r => d == r || d.StartsWith(r + ":", StringComparison.Ordinal)))
            .Where(d => !keys.Any(key => d.Equals(key, StringComparison.OrdinalIgnoreCase) || d.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)));
        Assert.Empty(unread);
    }

    /// <summary>
    /// The keys the README's configuration table names in its first column: a full key, then siblings by their last
    /// part (`Sessions:Workers:PollMilliseconds`, `Batch`), or a nested part (`:Tenant`).
    /// </summary>
    private static List<string> DocumentedKeys()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf("\n## Configuration\n", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var keys = new List<string>();
        foreach (var row in readme[start..end].Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            string? parent = null;
            foreach (Match token in Code().Matches(row.Split('|')[1]))
            {
                var key = token.Groups[1].Value.Split(' ')[0];
                if (key.Contains(':', StringComparison.Ordinal) && !key.StartsWith(':'))
                {
                    keys.Add(key);
                    parent = key[..key.LastIndexOf(':')];
                }
                else if (parent is not null && !key.StartsWith('-'))
                {
                    keys.Add($"{parent}:{key.TrimStart(':')}");
                }
            }
        }

        return keys;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();
}
