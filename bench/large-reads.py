"""Server memory while clients read one long run: 100 clients that request it and never read the answer, then
10 clients that read all of it at once. Starts the server it measures (a Release build of this checkout, or of the
checkout in SESSIONS_ROOT) on a fresh SQLite file, builds a run of about 100,000 events through the API, and prints
one JSON line per phase.
    dotnet build -c Release src/Sessions.Api && python3 bench/large-reads.py [--events 100000] [--stalled 100] [--readers 10]

Resident memory (rss_mb) also counts what the garbage collector has not collected yet, so it follows how much the
reads allocated as well as what stalled readers hold. What the kernel's socket send buffers took of the answers is
reported beside it (send_queue_mb, the Send-Q of the server's connections in `ss -tn`): on loopback a send buffer grows
up to net.ipv4.tcp_wmem's maximum (4 MiB here), so an answer smaller than that leaves the server whole, and only the
rest of a larger one waits in the server, held back by the response pipe. --line-chars makes each said line longer,
and so the run's pages larger: `--events 5000 --line-chars 12000` gives a first page of about 1.2 MB.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--events", type=int, default=100_000)
parser.add_argument("--stalled", type=int, default=100)
parser.add_argument("--readers", type=int, default=10)
parser.add_argument("--port", type=int, default=5391)
parser.add_argument("--line-chars", type=int, default=0, help="padding each said line carries, to make the run's pages larger")
parser.add_argument("--skip-transcript", action="store_true", help="measure only the run read")
args = parser.parse_args()

root = os.environ.get("SESSIONS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
dll = os.path.join(root, "src/Sessions.Api/bin/Release/net10.0/Sessions.Api.dll")
base = f"http://127.0.0.1:{args.port}"

# Each turn says 80 lines in a loop: about 890 events a turn, under the default 1,000 per turn.
WORKFLOW = {
    "name": "Long talk", "start": "ask", "variables": {"k": 0},
    "limits": {"max_node_executions_per_turn": 1000, "max_visits_per_node_per_turn": 300},
    "nodes": [
        {"id": "ask", "type": "ask", "prompt": "Go on?", "variable": "said", "next": "reset"},
        {"id": "reset", "type": "set", "assign": {"k": 0}, "next": "say"},
        {"id": "say", "type": "say", "text": "Line {{k}} of a long answer about {{said}}, as a support agent would write it." + " ." * (args.line_chars // 2), "next": "count"},
        {"id": "count", "type": "set", "assign": {"k": "{{add k 1}}"}, "next": "more"},
        {"id": "more", "type": "branch", "cases": [{"when": {"var": "k", "op": "lt", "value": 80}, "next": "say"}], "default": "ask"},
    ],
}


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def read_all(path):
    with urllib.request.urlopen(base + path, timeout=600) as response:
        return len(response.read())


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)


def send_queue_mb():
    """What the kernel holds of the server's answers, not yet taken by the clients (Send-Q of its connections)."""
    lines = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{args.port} )"], capture_output=True, text=True).stdout
    return round(sum(int(line.split()[1]) for line in lines.splitlines() if line.strip()) / 1024 / 1024, 1)


def stalled_client(path):
    """Sends the request, then never reads: a receive buffer of 4 KiB fills, and the server's writes must wait."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", args.port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s


folder = tempfile.mkdtemp(prefix="large-reads-")
server = subprocess.Popen(
    ["dotnet", dll, "--urls", base, f"--Sessions:Sqlite:Path={folder}/sessions.db", "--Sessions:RateLimit:PermitsPerSecond=0",
     "--Logging:LogLevel:Default=Warning"],
    cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/alive", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)

    workflow = call("POST", "/v1/workflows", WORKFLOW)["workflow_id"]
    answer = call("POST", f"/v1/workflows/{workflow}/execute", {"run_input": {}})
    run_id, events = answer["run_id"], len(answer["events"])
    turn = 0
    while events < args.events:
        turn += 1
        answer = call("POST", f"/v1/workflows/{workflow}/execute", {"run_id": run_id, "run_input": {"user_message": f"topic {turn}"}})
        events += len(answer["events"])

    def report(phase, **fields):
        print(json.dumps({"phase": phase, "run_events": events, "run_turns": turn + 1, "rss_mb": rss_mb(server.pid), **fields}), flush=True)

    time.sleep(2)
    report("idle, run built")

    first_page = len(urllib.request.urlopen(base + f"/v1/runs/{run_id}", timeout=600).read())
    report("first page read once", first_page_bytes=first_page)
    time.sleep(2)
    for path in (f"/v1/runs/{run_id}",) if args.skip_transcript else (f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/transcript"):
        sockets = [stalled_client(path) for _ in range(args.stalled)]
        time.sleep(10)
        report(f"{args.stalled} clients requested {path.replace(run_id, '{id}')} and never read", clients=args.stalled, send_queue_mb=send_queue_mb())
        for s in sockets:
            s.close()
        time.sleep(5)
        report("after they went away")

    results, peak = [], [0]
    paths = [f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/transcript", f"/v1/runs/{run_id}/transcript?format=markdown"]

    def reader(i):
        results.append(sum(read_all(p) for p in paths))

    def watch(stop):
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(server.pid))
            time.sleep(0.05)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,))
    watcher.start()
    started = time.time()
    threads = [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    report(f"{args.readers} concurrent readers of the run and both transcripts", peak_rss_mb=peak[0],
           seconds=round(time.time() - started, 1), bytes_per_reader=results[0])
finally:
    server.kill()
