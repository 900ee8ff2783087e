using System.Globalization;
using System.Security;
using System.Text;

namespace Sessions.Api.Diagrams;

/// <summary>
/// A workflow's graph drawn as SVG on the server, with no script and nothing fetched: nodes in rows by their distance
/// from the start (nodes no path reaches go last), in the order the definition lists them; edges down to the next rows
/// as straight arrows, edges back up (loops) as curves along the right. Text is escaped; shapes are coloured by type.
/// </summary>
public static class SvgWriter
{
    private const int Width = 190;
    private const int Height = 58;
    private const int Gap = 40;
    private const int RowGap = 76;
    private const int Margin = 30;

    public static string Write(WorkflowGraph graph)
    {
        var rows = Rows(graph);
        var columns = rows.Max(r => r.Count);
        var place = new Dictionary<string, (double X, double Y)>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++)
        {
            var offset = (columns - rows[r].Count) * (Width + Gap) / 2.0;
            for (var c = 0; c < rows[r].Count; c++)
            {
                place[rows[r][c].Id] = (Margin + offset + c * (Width + Gap), Margin + r * (Height + RowGap));
            }
        }

        var width = Margin * 2 + columns * (Width + Gap) - Gap + 80;
        var height = Margin * 2 + rows.Count * (Height + RowGap) - RowGap;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""");
        svg.Append("""<title>""").Append(SecurityElement.Escape(Clean(graph.Name))).Append("</title>");
        svg.Append("""<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>""");
        foreach (var edge in graph.Edges)
        {
            DrawEdge(svg, edge, place[edge.From], place[edge.To]);
        }

        foreach (var node in graph.Nodes)
        {
            DrawNode(svg, node, place[node.Id], node.Id == graph.Start);
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>Nodes by their distance from the start (breadth first); unreachable ones in a last row.</summary>
    private static List<List<GraphNode>> Rows(WorkflowGraph graph)
    {
        var depth = new Dictionary<string, int>(StringComparer.Ordinal) { [graph.Start] = 0 };
        var frontier = new Queue<string>([graph.Start]);
        while (frontier.TryDequeue(out var id))
        {
            foreach (var edge in graph.Edges.Where(e => e.From == id && !depth.ContainsKey(e.To)))
            {
                depth[edge.To] = depth[id] + 1;
                frontier.Enqueue(edge.To);
            }
        }

        var last = depth.Count == 0 ? 0 : depth.Values.Max() + 1;
        return graph.Nodes.GroupBy(n => depth.GetValueOrDefault(n.Id, last)).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
    }

    private static void DrawNode(StringBuilder svg, GraphNode node, (double X, double Y) at, bool start)
    {
        var (fill, stroke) = node.Type switch
        {
            "ask" => ("#e8f1ff", "#3b74d4"),
            "branch" => ("#fff6e0", "#c98a00"),
            "end" => ("#e6f6ea", "#2f8f46"),
            "fail" => ("#fde8e8", "#c23b3b"),
            "http_request" or "llm" => ("#f1ebfb", "#7a4fc2"),
            "pause" => ("#eef0f2", "#6b7280"),
            _ => ("#ffffff", "#555555"),
        };
        svg.Append(CultureInfo.InvariantCulture, $"""<g class="node {node.Type}" data-node-id="{SecurityElement.Escape(Clean(node.Id))}">""");
        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{at.X}" y="{at.Y}" width="{Width}" height="{Height}" rx="{(node.Type is "end" ? 24 : 6)}" fill="{fill}" stroke="{stroke}" stroke-width="{(start ? 3 : 1.5)}"/>""");
        Text(svg, at.X + Width / 2.0, at.Y + 18, node.Id, "font-weight=\"bold\"");
        Text(svg, at.X + Width / 2.0, at.Y + 33, node.Type, "font-style=\"italic\" fill=\"#555\"");
        if (node.Detail is { } detail)
        {
            Text(svg, at.X + Width / 2.0, at.Y + 49, detail.Length > 30 ? detail[..29] + "…" : detail, "font-size=\"11\" fill=\"#333\"");
        }

        svg.Append("</g>");
    }

    private static void DrawEdge(StringBuilder svg, GraphEdge edge, (double X, double Y) from, (double X, double Y) to)
    {
        string path;
        (double X, double Y) label;
        if (to.Y > from.Y)
        {
            var (x1, y1, x2, y2) = (from.X + Width / 2.0, from.Y + Height, to.X + Width / 2.0, to.Y);
            path = FormattableString.Invariant($"M{x1},{y1} L{x2},{y2}");
            label = ((x1 + x2) / 2, (y1 + y2) / 2);
        }
        else
        {
            // Back up (a loop), across, or to itself: around the right-hand side.
            var (x1, y1, x2, y2) = (from.X + Width, from.Y + Height / 2.0, to.X + Width, to.Y + Height / 2.0);
            var bend = Math.Max(x1, x2) + 40 + Math.Abs(y1 - y2) / 6;
            path = FormattableString.Invariant($"M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}");
            label = (bend - 10, (y1 + y2) / 2);
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<path d="{path}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#arrow)"/>""");
        if (edge.Label is { } text)
        {
            Text(svg, label.X, label.Y - 3, text.Length > 34 ? text[..33] + "…" : text, "font-size=\"11\" fill=\"#8a5a00\"");
        }
    }

    private static void Text(StringBuilder svg, double x, double y, string text, string attributes) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x}" y="{y}" text-anchor="middle" {attributes}>{SecurityElement.Escape(Clean(text))}</text>""");

    /// <summary>Text XML can hold: control characters become spaces, and a lone surrogate the replacement character.</summary>
    private static string Clean(string text)
    {
        var clean = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                clean.Append(c).Append(text[++i]);
            }
            else
            {
                clean.Append(char.IsControl(c) ? ' ' : char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return clean.ToString();
    }
}
