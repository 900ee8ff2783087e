// The benchmark's one load driver: the same 3-turn conversation against any server that speaks the execute protocol
// (POST /v1/workflows/{id}/execute, run_id echoed back), at each concurrency in turn. Each of `c` clients runs
// conversations back to back for the measured window; a turn's latency is its whole HTTP exchange. With several
// targets (instances sharing a store), each turn goes to the next instance.
// Given the servers' pids it also reads their CPU time (utime + stime) over the window and their peak RSS.
// Prints one JSON line per concurrency level, for bench/run-suite.sh to tabulate.
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

var options = args.Select(a => a.Split('=', 2)).ToDictionary(p => p[0].TrimStart('-'), p => p.Length > 1 ? p[1] : "");
if (options.TryGetValue("table", out var table))
{
    Console.Write(ResultsTable.Write(File.ReadAllLines(table).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList()));
    return;
}

var targets = options["target"].Split(',').Select(t => new Uri(t)).ToArray();
var workflowId = options["workflow"];
var label = options.GetValueOrDefault("label", options["target"]);
var levels = options.GetValueOrDefault("concurrency", "1,8,32").Split(',').Select(int.Parse).ToArray();
var seconds = double.Parse(options.GetValueOrDefault("seconds", "10"), System.Globalization.CultureInfo.InvariantCulture);
var warmup = double.Parse(options.GetValueOrDefault("warmup", "2"), System.Globalization.CultureInfo.InvariantCulture);
var pids = options.TryGetValue("pid", out var p) && p.Length > 0 ? p.Split(',').Select(int.Parse).ToArray() : [];

// With several targets: each turn to the next instance (the worst case for an instance's memory of its runs), or each
// conversation to one instance (what a load balancer with affinity does).
var sticky = options.GetValueOrDefault("route", "turn") == "conversation";

using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
var clients = targets.Select(t => new HttpClient(handler, disposeHandler: false) { BaseAddress = t, Timeout = TimeSpan.FromSeconds(30) }).ToArray();
var path = $"/v1/workflows/{workflowId}/execute";
string[] replies = ["Ada", "my order"];

if (options.TryGetValue("long", out var longTurns))
{
    await LongRunAsync(int.Parse(longTurns));
    return;
}

// Until the server's JIT has settled, whatever level ran first would pay for it: with dynamic PGO, .NET compiles a hot
// method three times (quick, instrumented, optimized), and a Sessions server on PostgreSQL reached its steady CPU per
// turn only 25 to 30 s into a load (`--settle`, 10 s unless given).
var settle = double.Parse(options.GetValueOrDefault("settle", "10"), System.Globalization.CultureInfo.InvariantCulture);
await RunAsync(levels.Max(), TimeSpan.FromSeconds(Math.Max(settle, warmup)));
foreach (var level in levels)
{
    await RunAsync(level, TimeSpan.FromSeconds(warmup));
    var cpuBefore = pids.Sum(CpuSeconds);
    var result = await RunAsync(level, TimeSpan.FromSeconds(seconds));
    var cpu = pids.Sum(CpuSeconds) - cpuBefore;
    var line = new JsonObject
    {
        ["target"] = label,
        ["concurrency"] = level,
        ["turns"] = result.Latencies.Length,
        ["errors"] = result.Errors,
        ["seconds"] = Math.Round(result.Elapsed, 3),
        ["turns_per_second"] = Math.Round(result.Latencies.Length / result.Elapsed, 1),
        ["p50_ms"] = Math.Round(Percentile(result.Latencies, 0.50), 3),
        ["p99_ms"] = Math.Round(Percentile(result.Latencies, 0.99), 3),
        ["server_cpu_ms_per_turn"] = pids.Length == 0 ? null : Math.Round(cpu * 1000 / Math.Max(1, result.Latencies.Length), 3),
        ["server_busy_cores"] = pids.Length == 0 ? null : Math.Round(cpu / result.Elapsed, 2),
        ["server_peak_rss_mb"] = pids.Length == 0 ? null : pids.Sum(PeakRssMegabytes),
    };
    Console.WriteLine(line.ToJsonString());
}

// One run of `turns` turns, one after another, on a workflow that asks again after every reply: what turn n costs
// against turn 1, once the run has a long history. Warmed up first on short runs of the same workflow.
async Task LongRunAsync(int turns)
{
    await RunAsync(8, TimeSpan.FromSeconds(10));
    var latencies = new double[turns];
    string? runId = null;
    for (var turn = 0; turn < turns; turn++)
    {
        var body = runId is null ? """{"run_input":{"run_by":"bench-long"}}""" : $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"reply number {{{turn}}}"}}""";
        var started = Stopwatch.GetTimestamp();
        using var response = await clients[0].PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsByteArrayAsync();
        latencies[turn] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"turn {turn + 1}: {(int)response.StatusCode} {Encoding.UTF8.GetString(text)}");
        }

        runId ??= JsonDocument.Parse(text).RootElement.GetProperty("run_id").GetString();
    }

    // Turn 1 creates the run, so "early" is turns 2 to 201: the same kind of turn as the late ones.
    double Median(IEnumerable<double> values) => Percentile(values.Order().ToArray(), 0.5);
    var early = Median(latencies[1..201]);
    var late = Median(latencies[^200..]);
    Console.WriteLine(new JsonObject
    {
        ["target"] = label,
        ["run_id"] = runId,
        ["turns"] = turns,
        ["early_turns_p50_ms"] = Math.Round(early, 3),
        ["late_turns_p50_ms"] = Math.Round(late, 3),
        ["late_over_early"] = Math.Round(late / early, 3),
        ["p50_ms_per_tenth"] = new JsonArray(Enumerable.Range(0, 10)
            .Select(tenth => (JsonNode?)Math.Round(Median(latencies[Math.Max(1, tenth * turns / 10)..((tenth + 1) * turns / 10)]), 3)).ToArray()),
    }.ToJsonString());
}

async Task<(double[] Latencies, int Errors, double Elapsed)> RunAsync(int concurrency, TimeSpan window)
{
    var latencies = new List<double>[concurrency];
    var errors = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
    {
        var mine = latencies[i] = new List<double>(4096);
        while (clock.Elapsed < window)
        {
            string? runId = null;
            for (var turn = 0; turn < 3; turn++)
            {
                var body = runId is null
                    ? """{"run_input":{"run_by":"bench"}}"""
                    : $$$"""{"run_id":"{{{runId}}}","run_input":{"user_message":"{{{replies[turn - 1]}}}"}}""";
                var started = Stopwatch.GetTimestamp();
                using var response = await clients[(sticky ? i : i + turn) % clients.Length].PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
                var text = await response.Content.ReadAsByteArrayAsync();
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref errors);
                    if (errors < 5)
                    {
                        Console.Error.WriteLine($"{(int)response.StatusCode}: {Encoding.UTF8.GetString(text)}");
                    }

                    break;
                }

                mine.Add(elapsed);
                runId ??= JsonDocument.Parse(text).RootElement.GetProperty("run_id").GetString();
            }
        }
    })));
    var elapsedSeconds = clock.Elapsed.TotalSeconds;
    return (latencies.SelectMany(l => l).Order().ToArray(), errors, elapsedSeconds);
}

static double Percentile(double[] sorted, double q) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

// utime and stime of the process and its reaped children, in clock ticks (100 per second on Linux).
static double CpuSeconds(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14])) / 100.0;
}

static double PeakRssMegabytes(int pid)
{
    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return Math.Round(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0, 1);
}
