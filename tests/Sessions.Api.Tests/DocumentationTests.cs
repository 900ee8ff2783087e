using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sessions.Api.Tests;

/// <summary>
/// The documentation cannot drift from the server: every shell block marked `&lt;!-- doc-test: run --&gt;` in the README
/// and docs/ runs, in page order in one bash session, against a fresh server process with the samples (the test puts
/// its server's address for `http://127.0.0.1:5080` and a folder of its own for `/tmp/`), and what it prints is held to
/// the block that follows it on the page, by shape: JSON compared as JSON, ids, times and trace ids masked. The README
/// stays short and links only to pages and headings that exist (the site build checks the links inside docs/).
/// </summary>
public sealed partial class DocumentationTests
{
    private const string RunMarker = "<!-- doc-test: run -->";
    private const string DocumentedAddress = "http://127.0.0.1:5080";

    public static TheoryData<string> PagesWithWalkthroughs()
    {
        var pages = new TheoryData<string>();
        foreach (var page in WalkthroughPages())
        {
            pages.Add(page);
        }

        return pages;
    }

    private static IEnumerable<string> WalkthroughPages() =>
        Pages().Where(p => File.ReadLines(p).Any(line => line.Trim() == RunMarker)).Select(p => Path.GetRelativePath(Repository.Root, p));

    private static IEnumerable<string> Pages() =>
        Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Prepend(Path.Combine(Repository.Root, "README.md"));

    [Fact]
    public void The_walkthroughs_are_found()
    {
        var pages = WalkthroughPages().ToList();
        Assert.Contains("README.md", pages);
        Assert.Contains(Path.Combine("docs", "getting-started.md"), pages);
    }

    [Theory]
    [MemberData(nameof(PagesWithWalkthroughs))]
    public async Task A_walkthrough_runs_against_a_fresh_server_and_prints_what_its_page_shows(string page)
    {
        var blocks = RunnableBlocks(File.ReadAllText(Path.Combine(Repository.Root, page)).ReplaceLineEndings("\n"));
        Assert.NotEmpty(blocks);

        using var folder = new TempDirectory();
        await using var server = await ServerProcess.StartAsync(folder.File("sessions.db"));
        var address = server.Address.ToString().TrimEnd('/');
        var scratch = Directory.CreateDirectory(Path.Combine(folder.Path, "tmp")).FullName + "/";
        var script = new System.Text.StringBuilder("set -euo pipefail\n");
        for (var i = 0; i < blocks.Count; i++)
        {
            script.Append($"echo '@@block {i}@@'\n");
            script.Append(blocks[i].Script.Replace(DocumentedAddress, address, StringComparison.Ordinal).Replace("/tmp/", scratch, StringComparison.Ordinal)).Append('\n');
        }

        var (exitCode, output, errors) = await BashAsync(script.ToString(), folder.Path);
        Assert.True(exitCode == 0, $"The walkthrough of {page} failed ({exitCode}):\n{errors}\n{output}");

        var printed = BlockMarker().Split(output);
        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Expected is not { } expected)
            {
                continue;
            }

            var actual = printed[i + 1].Trim('\n');
            Assert.True(SameShape(expected, actual), $"{page}, block {i + 1} (line {blocks[i].Line}): the page shows\n{expected}\nand it printed\n{actual}");
        }
    }

    [Fact]
    public void The_readme_is_short_and_links_only_to_pages_and_headings_that_exist()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md")).ReplaceLineEndings("\n");
        var lines = readme.Split('\n').Length;
        Assert.True(lines <= 250, $"The README has {lines} lines: what is not for the first five minutes belongs in docs/.");

        var broken = new List<string>();
        foreach (Match link in Link().Matches(readme))
        {
            var (target, anchor) = (link.Groups["file"].Value, link.Groups["anchor"].Value);
            if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal))
            {
                continue;
            }

            var file = Path.Combine(Repository.Root, target);
            if (!File.Exists(file) && !Directory.Exists(file))
            {
                broken.Add($"{target} does not exist");
            }
            else if (anchor.Length > 0 && !Headings(File.ReadAllText(file)).Contains(anchor))
            {
                broken.Add($"{target} has no heading #{anchor}");
            }
        }

        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void Shapes_are_compared_with_ids_and_times_masked_and_nothing_else()
    {
        Assert.True(SameShape("""{ "run_id": "6b02b2c2f5543e06de4bda7a", "at": "2026-11-22T09:15:46.4289254Z", "n": 1 }""",
            """{"run_id":"66a1f0000000000000000009","at":"2026-12-07T10:00:00Z","n":1}"""));
        Assert.False(SameShape("""{ "n": 1 }""", """{ "n": 2 }"""));
        Assert.False(SameShape("""{ "n": 1 }""", """{ "n": 1, "m": 2 }"""));
        Assert.False(SameShape("""{ "said": ["Hi Ada!"] }""", """{ "said": ["Hi Bob!"] }"""));
        Assert.True(SameShape("HTTP 422 trace 00-c59b7f2323779c6101acc359e4e48eb7-c0d5b3c558338020-00", "HTTP 422 trace 00-1bd938eab2eb99c8309db2afa1ed3dd1-bd153832b75e44ac-00"));
        Assert.False(SameShape("HTTP 422", "HTTP 409"));
    }

    private sealed record Block(int Line, string Script, string? Expected);

    /// <summary>Each bash block after the marker, with the fenced block right after it (only blank lines between) as what it prints.</summary>
    private static List<Block> RunnableBlocks(string markdown)
    {
        var lines = markdown.Split('\n');
        var blocks = new List<Block>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != RunMarker)
            {
                continue;
            }

            Assert.True(i + 1 < lines.Length && lines[i + 1].StartsWith("```bash", StringComparison.Ordinal), $"line {i + 1}: the marker is followed by a ```bash block");
            var (script, end) = Fenced(lines, i + 1);
            var next = end + 1;
            while (next < lines.Length && lines[next].Trim().Length == 0)
            {
                next++;
            }

            string? expected = null;
            if (next < lines.Length && Regex.IsMatch(lines[next], "^```(json|text)?$"))
            {
                expected = Fenced(lines, next).Body;
            }

            blocks.Add(new Block(i + 1, script, expected));
        }

        return blocks;
    }

    private static (string Body, int End) Fenced(string[] lines, int start)
    {
        var end = start + 1;
        while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal))
        {
            end++;
        }

        return (string.Join('\n', lines[(start + 1)..end]), end);
    }

    /// <summary>Equal once ids, times and trace ids are masked: as JSON when both parse as JSON, else line by line (each line as JSON when it is).</summary>
    private static bool SameShape(string expected, string actual)
    {
        if (Json(expected) is { } expectedJson && Json(actual) is { } actualJson)
        {
            return JsonNode.DeepEquals(Masked(expectedJson), Masked(actualJson));
        }

        var (expectedLines, actualLines) = (expected.Trim().Split('\n'), actual.Trim().Split('\n'));
        return expectedLines.Length == actualLines.Length && expectedLines.Zip(actualLines).All(pair =>
            Json(pair.First) is { } e && Json(pair.Second) is { } a
                ? JsonNode.DeepEquals(Masked(e), Masked(a))
                : Mask(pair.First.Trim()) == Mask(pair.Second.Trim()));
    }

    private static JsonNode? Json(string text)
    {
        var trimmed = text.Trim();
        if (!(trimmed.StartsWith('{') || trimmed.StartsWith('[')))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(trimmed);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonNode? Masked(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Masked(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Masked).ToArray()),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(Mask(v.GetValue<string>())),
        _ => node?.DeepClone(),
    };

    private static string Mask(string text) =>
        Time().Replace(TraceParent().Replace(ObjectId().Replace(text, "<id>"), "<trace>"), "<time>");

    private static HashSet<string> Headings(string markdown) =>
        markdown.ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.StartsWith('#'))
            .Select(l => Regex.Replace(l.TrimStart('#').Trim().ToLowerInvariant(), @"[^\w\- ]", "").Replace(' ', '-'))
            .ToHashSet();

    private static async Task<(int ExitCode, string Output, string Errors)> BashAsync(string script, string workingDirectory)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var bash = Process.Start(start)!;
        var output = bash.StandardOutput.ReadToEndAsync();
        var errors = bash.StandardError.ReadToEndAsync();
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (bash.ExitCode, await output, await errors);
    }

    [GeneratedRegex(@"^@@block \d+@@\n", RegexOptions.Multiline)]
    private static partial Regex BlockMarker();

    [GeneratedRegex(@"\]\((?<file>[^)#\s]*)(#(?<anchor>[^)\s]+))?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"\b[0-9a-f]{24}\b")]
    private static partial Regex ObjectId();

    [GeneratedRegex(@"\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-9a-f]\b")]
    private static partial Regex TraceParent();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")]
    private static partial Regex Time();
}
