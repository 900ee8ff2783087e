"""Parallel steps and files: how much a 4-step fan-out of 200 ms HTTP steps gains over running them one after another,
and how much memory the server takes while it receives and serves back a file of 100 MB. Starts the server it
measures (a Release build of this checkout, or of the checkout in SESSIONS_ROOT) on a fresh SQLite file (or on
PostgreSQL with --postgres CONNECTION_STRING), with a slow HTTP service on loopback, and prints one JSON line per
measurement.
    dotnet build -c Release src/Sessions.Api && python3 bench/parallel-files.py [--runs 20] [--megabytes 100]

- fan_out: a workflow in the DAG shape with 4 independent http_request steps, each answered after 200 ms; N runs with
  max_concurrency 4, then N with max_concurrency 1 (the same steps one after another). Per run: the parallel node's
  time (its start_node_run to its end_node_run event) and the whole turn as the client saw it. Speed-up = median
  sequential / median parallel.
- file: a file of M MB of random bytes sent with a first turn (curl -F, streamed), then fetched back 3 times (curl to
  /dev/null). The server's resident memory (VmRSS of /proc/PID/status) is sampled every 10 ms: its value before, the
  most while receiving, the most while serving. The bytes fetched back are checked against the file's sha256.
"""
import argparse, hashlib, http.server, json, os, socket, statistics, subprocess, tempfile, threading, time, urllib.request, datetime

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=20)
parser.add_argument("--megabytes", type=int, default=100)
parser.add_argument("--port", type=int, default=5393)
parser.add_argument("--postgres", default=None)
args = parser.parse_args()

root = os.environ.get("SESSIONS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
dll = os.path.join(root, "src/Sessions.Api/bin/Release/net10.0/Sessions.Api.dll")
base = f"http://127.0.0.1:{args.port}"


class Slow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(0.2)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
threading.Thread(target=slow.serve_forever, daemon=True).start()
slow_url = f"http://127.0.0.1:{slow.server_address[1]}/delay"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """The most resident memory seen while a block runs, sampled every 10 ms."""

    def __init__(self, pid):
        self.pid, self.most, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self):
        while self.running:
            self.most = max(self.most, rss_kib(self.pid))
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()


folder = tempfile.mkdtemp()
store = ["--Sessions:Store=postgres", f"--Sessions:Postgres:ConnectionString={args.postgres}"] if args.postgres else [f"--Sessions:Sqlite:Path={folder}/sessions.db"]
server = subprocess.Popen(
    ["dotnet", dll, f"--urls={base}", *store, "--Sessions:RateLimit:PermitsPerSecond=0", "--Sessions:Files:MaxBytes=1073741824",
     "--Logging:LogLevel:Default=Warning"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)

    store_name = "postgres" if args.postgres else "sqlite"
    steps = [{"id": f"s{i}", "type": "http_request", "url": slow_url, "retries": {"max": 0}} for i in range(4)]
    medians = {}
    for concurrency in (4, 1):
        workflow = call("POST", "/v1/workflows", {"name": f"Fan out {concurrency}", "max_concurrency": concurrency, "steps": steps})["workflow_id"]
        call("POST", f"/v1/workflows/{workflow}/execute", {})  # warm-up
        node_ms, turn_ms = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            answer = call("POST", f"/v1/workflows/{workflow}/execute", {})
            turn_ms.append((time.perf_counter() - started) * 1000)
            assert answer["status"] == "completed", answer
            marks = {e["type"]: seconds(e["timestamp"]) for e in answer["events"] if e.get("node_id") == "steps" and e["type"] in ("start_node_run", "end_node_run")}
            node_ms.append((marks["end_node_run"] - marks["start_node_run"]) * 1000)
        medians[concurrency] = statistics.median(node_ms)
        print(json.dumps({"measure": "fan_out", "store": store_name, "steps": 4, "step_ms": 200, "max_concurrency": concurrency, "runs": args.runs,
                          "node_median_ms": round(statistics.median(node_ms), 1), "node_max_ms": round(max(node_ms), 1),
                          "turn_median_ms": round(statistics.median(turn_ms), 1)}), flush=True)
    print(json.dumps({"measure": "fan_out_speed_up", "store": store_name, "sequential_over_parallel": round(medians[1] / medians[4], 2)}), flush=True)

    path = os.path.join(folder, "payload.bin")
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(args.megabytes):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            out.write(chunk)

    intake = call("POST", "/v1/workflows", {"name": "Intake", "start": "done", "nodes": [{"id": "done", "type": "end", "output": "{{doc.file_id}}"}]})["workflow_id"]
    idle = rss_kib(server.pid)
    started = time.perf_counter()
    with Sampler(server.pid) as receiving:
        sent = subprocess.run(["curl", "-sf", f"{base}/v1/workflows/{intake}/execute", "-F", "run_input={};type=application/json",
                               "-F", f"doc=@{path};type=application/octet-stream"], capture_output=True, check=True)
    upload_s = time.perf_counter() - started
    answer = json.loads(sent.stdout)
    run_id = answer["run_id"]
    file_id = call("GET", f"/v1/runs/{run_id}")["output"]
    before_serving = rss_kib(server.pid)
    serve_s = []
    with Sampler(server.pid) as serving:
        for _ in range(3):
            started = time.perf_counter()
            fetched = subprocess.run(["curl", "-sf", f"{base}/v1/runs/{run_id}/files/{file_id}"], capture_output=True, check=True).stdout
            serve_s.append(time.perf_counter() - started)
            assert hashlib.sha256(fetched).hexdigest() == digest.hexdigest(), "the bytes served back differ"
            del fetched
    print(json.dumps({"measure": "file", "store": store_name, "megabytes": args.megabytes,
                      "rss_idle_mib": round(idle / 1024, 1), "rss_peak_receiving_mib": round(receiving.most / 1024, 1),
                      "rss_before_serving_mib": round(before_serving / 1024, 1), "rss_peak_serving_mib": round(serving.most / 1024, 1),
                      "upload_seconds": round(upload_s, 2), "serve_seconds_median": round(statistics.median(serve_s), 2)}), flush=True)
finally:
    server.terminate()
    server.wait()
