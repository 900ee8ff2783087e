using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>The suite's JSON lines as the README's table: one row per target, then the ratios the targets are set in.</summary>
internal static class ResultsTable
{
    public static string Write(IReadOnlyList<JsonObject> lines)
    {
        var byTarget = lines.GroupBy(l => l["target"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.ToDictionary(l => l["concurrency"]!.GetValue<int>()));
        var levels = lines.Select(l => l["concurrency"]!.GetValue<int>()).Distinct().Order().ToArray();
        var report = new StringBuilder();
        report.AppendLine($"| target | {string.Join(" | ", levels.Select(c => $"c={c} turns/s · p50 · p99 ms"))} | server CPU ms/turn (c=8) | busy cores (c=8) | peak RSS MB |");
        report.AppendLine($"|---|{string.Concat(levels.Select(_ => "---:|"))}---:|---:|---:|");
        foreach (var (target, rows) in byTarget)
        {
            var cells = levels.Select(c => rows.TryGetValue(c, out var r)
                ? $"{F(r, "turns_per_second", "N0")} · {F(r, "p50_ms", "0.00")} · {F(r, "p99_ms", "0.0")}" + (r["errors"]!.GetValue<int>() > 0 ? $" ({r["errors"]} errors)" : "")
                : "–");
            var at8 = rows.GetValueOrDefault(8);
            var peak = rows.Values.Max(r => r["server_peak_rss_mb"]?.GetValue<double>() ?? 0);
            report.AppendLine($"| {target} | {string.Join(" | ", cells)} | {F(at8, "server_cpu_ms_per_turn", "0.00")} | {F(at8, "server_busy_cores", "0.00")} | {peak:N0} |");
        }

        report.AppendLine();
        report.AppendLine("Ratios of turns/s at each concurrency (" + string.Join(" · ", levels.Select(c => $"c={c}")) + "):");
        report.AppendLine();
        void Ratio(string name, string a, string b, string field = "turns_per_second")
        {
            if (!byTarget.ContainsKey(a) || !byTarget.ContainsKey(b))
            {
                return;
            }

            var values = levels.Select(c => byTarget[a].TryGetValue(c, out var x) && byTarget[b].TryGetValue(c, out var y)
                ? (x[field]!.GetValue<double>() / y[field]!.GetValue<double>()).ToString("0.00", CultureInfo.InvariantCulture)
                : "–");
            report.AppendLine($"- {name}: {string.Join(" · ", values)}");
        }

        Ratio("sessions-sqlite / floor-sqlite (NORMAL)", "sessions-sqlite", "floor-sqlite");
        Ratio("sessions-sqlite / floor-sqlite-full", "sessions-sqlite", "floor-sqlite-full");
        Ratio("sessions-sqlite / floor-sqlite-group", "sessions-sqlite", "floor-sqlite-group");
        Ratio("floor-sqlite-group / floor-sqlite (NORMAL) (the most any server durable at each commit could reach of the NORMAL floor here)", "floor-sqlite-group", "floor-sqlite");
        Ratio("sessions-sqlite / floor-sqlite-store (what Sessions reaches of storing its turns with nothing else done)", "sessions-sqlite", "floor-sqlite-store");
        Ratio("floor-sqlite-store / floor-sqlite (NORMAL) (the most a server storing what Sessions stores could reach of the NORMAL floor here)", "floor-sqlite-store", "floor-sqlite");
        Ratio("sessions-sqlite / langgraph-sqlite", "sessions-sqlite", "langgraph-sqlite");
        Ratio("floor-sqlite-store / langgraph-sqlite (the most a server storing what Sessions stores could lead the SQLite peer by here)", "floor-sqlite-store", "langgraph-sqlite");
        Ratio("sessions-pg / langgraph-pg", "sessions-pg", "langgraph-pg");
        Ratio("sessions-pg / floor-pg", "sessions-pg", "floor-pg");
        Ratio("sessions-pg / floor-pg-store (what Sessions reaches of storing its turns on PostgreSQL with nothing else done)", "sessions-pg", "floor-pg-store");
        Ratio("floor-pg-store / floor-pg (the most a server storing what Sessions stores could reach of the PostgreSQL floor here)", "floor-pg-store", "floor-pg");
        Ratio("floor-pg-store / langgraph-pg (the most a server storing what Sessions stores could lead the PostgreSQL peer by here)", "floor-pg-store", "langgraph-pg");
        Ratio("floor-pg-store / dbos-pg (the same against DBOS)", "floor-pg-store", "dbos-pg");
        Ratio("sessions-pg / dbos-pg", "sessions-pg", "dbos-pg");
        Ratio("floor-pg / dbos-pg (the most any PostgreSQL server could lead the DBOS peer by here)", "floor-pg", "dbos-pg");
        Ratio("floor-pg / langgraph-pg (the most any PostgreSQL server could lead the peer by here)", "floor-pg", "langgraph-pg");
        Ratio("sessions-pg-2 / sessions-pg", "sessions-pg-2", "sessions-pg");
        Ratio("sessions-pg-2-sticky / sessions-pg", "sessions-pg-2-sticky", "sessions-pg");
        Ratio("floor-pg-2 / floor-pg (what a second instance on these cores costs a server that only writes)", "floor-pg-2", "floor-pg");
        Ratio("p99 of sessions-sqlite / p99 of floor-sqlite (NORMAL)", "sessions-sqlite", "floor-sqlite", "p99_ms");
        return report.ToString();
    }

    private static string F(JsonObject? row, string field, string format) =>
        row?[field] is { } value ? value.GetValue<double>().ToString(format, CultureInfo.InvariantCulture) : "–";
}
