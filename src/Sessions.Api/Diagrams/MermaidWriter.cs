using System.Text;

namespace Sessions.Api.Diagrams;

/// <summary>
/// A workflow's graph as a Mermaid flowchart: one shape per node type, edges labelled with their conditions. Ids are
/// written as `n0, n1, ...` and the node ids shown as text, so that no id can break the syntax; text is quoted, with
/// quotes and angle brackets as Mermaid entity codes.
/// </summary>
public static class MermaidWriter
{
    public static string Write(WorkflowGraph graph)
    {
        var ids = graph.Nodes.Select((node, i) => (node.Id, Key: $"n{i}")).ToDictionary(p => p.Id, p => p.Key, StringComparer.Ordinal);
        var text = new StringBuilder("flowchart TD\n");
        text.Append("    start((\" \")) --> ").Append(ids[graph.Start]).Append('\n');
        foreach (var node in graph.Nodes)
        {
            var (open, close) = Shape(node.Type);
            var label = $"{Escape(node.Id)}<br/><i>{node.Type}</i>" + (node.Detail is null ? "" : $"<br/>{Escape(node.Detail)}");
            text.Append("    ").Append(ids[node.Id]).Append(open).Append('"').Append(label).Append('"').Append(close).Append('\n');
        }

        foreach (var node in graph.Nodes.Where(n => n.Steps.Count > 0))
        {
            WriteSteps(text, ids[node.Id], node);
        }

        foreach (var edge in graph.Edges)
        {
            text.Append("    ").Append(ids[edge.From]);
            text.Append(edge.Label is null ? " --> " : $" -- \"{Escape(edge.Label)}\" --> ");
            text.Append(ids[edge.To]).Append('\n');
        }

        foreach (var node in graph.Nodes)
        {
            text.Append("    class ").Append(ids[node.Id]).Append(' ').Append(node.Type).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>A `parallel` node's steps, as a subgraph joined to the node, with an edge from each step to those that wait for it.</summary>
    private static void WriteSteps(StringBuilder text, string key, GraphNode node)
    {
        var steps = node.Steps.Select((step, i) => (step.Id, Key: $"{key}s{i}")).ToDictionary(p => p.Id, p => p.Key, StringComparer.Ordinal);
        text.Append("    subgraph ").Append(key).Append("s [\"").Append(Escape(node.Id)).Append(" steps\"]\n");
        foreach (var step in node.Steps)
        {
            text.Append("        ").Append(steps[step.Id]).Append("[\"").Append(Escape(step.Id)).Append("<br/><i>").Append(step.Type).Append("</i>\"]\n");
        }

        foreach (var step in node.Steps)
        {
            foreach (var upstream in step.DependsOn.Where(steps.ContainsKey))
            {
                text.Append("        ").Append(steps[upstream]).Append(" --> ").Append(steps[step.Id]).Append('\n');
            }
        }

        text.Append("    end\n    ").Append(key).Append(" -.- ").Append(key).Append("s\n");
    }

    private static (string Open, string Close) Shape(string type) => type switch
    {
        "ask" => ("[/", "/]"),
        "branch" => ("{", "}"),
        "end" => ("([", "])"),
        "fail" => ("[[", "]]"),
        "pause" => ("[(", ")]"),
        "http_request" or "llm" => ("[[", "]]"),
        _ => ("[", "]"),
    };

    private static string Escape(string text) =>
        text.Replace("&", "#amp;", StringComparison.Ordinal).Replace("\"", "#quot;", StringComparison.Ordinal)
            .Replace("<", "#lt;", StringComparison.Ordinal).Replace(">", "#gt;", StringComparison.Ordinal);
}
