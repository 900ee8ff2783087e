using System.Reflection;
using System.Text.RegularExpressions;

namespace Sessions.Api.Tests;

/// <summary>
/// The configuration reference's table (docs/configuration.md) and the options the server binds, held together: every option of every options
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
        var options = OptionsClasses();
        Assert.True(options.Count >= 16, $"found only {options.Count} options classes");

        var keys = OptionKeys();
        var undocumented = keys.Where(key => !documented.Any(d => d.Equals(key, StringComparison.OrdinalIgnoreCase) || d.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)));
        Assert.Empty(undocumented);

        var unread = documented
            .Where(d => d.StartsWith("Sessions:", StringComparison.Ordinal))
            .Where(d => !ReadElsewhere.Any(r => d == r || d.StartsWith(r + ":", StringComparison.Ordinal)))
            .Where(d => !keys.Any(key => d.Equals(key, StringComparison.OrdinalIgnoreCase) || d.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)));
        Assert.Empty(unread);
    }

    /// <summary>
    /// Beyond the table: every `Sessions:...` key (or its environment form `Sessions__...`) written anywhere in the README
    /// or docs/ is a section or a key the server reads, so no page can send a reader to a setting that does nothing.
    /// </summary>
    [Fact]
    public void Every_key_the_documentation_names_anywhere_is_one_the_server_reads()
    {
        var keys = OptionKeys();
        var pages = Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Append(Path.Combine(Repository.Root, "README.md")).ToList();
        Assert.True(pages.Count > 10, "the documentation pages were not found");
        var unknown = new List<string>();
        foreach (var page in pages)
        {
            foreach (Match mention in Mention().Matches(File.ReadAllText(page)))
            {
                var key = mention.Value.Replace("__", ":", StringComparison.Ordinal).TrimEnd(':');
                var known = ReadElsewhere.Any(r => key == r || key.StartsWith(r + ":", StringComparison.Ordinal))
                    || keys.Any(k => key.Equals(k, StringComparison.OrdinalIgnoreCase)
                        || key.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase)
                        || k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));
                if (!known)
                {
                    unknown.Add($"{Path.GetFileName(page)}: {mention.Value}");
                }
            }
        }

        Assert.True(unknown.Count == 0, "Keys the server does not read:\n" + string.Join("\n", unknown.Distinct()));
    }

    /// <summary>The server's options classes: those with a `Section`, and the section each binds.</summary>
    private static List<(Type Type, string Section)> OptionsClasses() =>
        Server.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(o => o.Section is not null)
            .Select(o => (o.Type, o.Section!))
            .ToList();

    /// <summary>Every key the options classes bind: `Section:Property`.</summary>
    private static List<string> OptionKeys() =>
        OptionsClasses()
            .SelectMany(o => o.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => $"{o.Section}:{p.Name}"))
            .ToList();

    [GeneratedRegex(@"\bSessions(:|__)[A-Za-z][A-Za-z0-9]*((:|__)[A-Za-z][A-Za-z0-9]*)*")]
    private static partial Regex Mention();

    /// <summary>
    /// The keys the configuration reference's table names in its first column: a full key, then siblings by their last
    /// part (`Sessions:Workers:PollMilliseconds`, `Batch`), or a nested part (`:Tenant`).
    /// </summary>
    private static List<string> DocumentedKeys()
    {
        var page = File.ReadAllText(Path.Combine(Repository.Root, "docs", "configuration.md")).ReplaceLineEndings("\n");
        var keys = new List<string>();
        foreach (var row in page.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
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
