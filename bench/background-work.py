"""Work no request waits on: how late timers fire, how soon webhooks follow their turn's commit, and how many
deliveries one server makes per second. Starts the server it measures (a Release build of this checkout, or of the
checkout in SESSIONS_ROOT) on a fresh SQLite file, with a webhook receiver on loopback, and prints one JSON line per
measurement.
    dotnet build -c Release src/Sessions.Api && python3 bench/background-work.py [--timers 300] [--deliveries 2000]

- timers: N runs each pause with resume_after_seconds=2, started together; for each, deadline -> commit of the
  timer's turn (the turn's completed_at less the timer_fired event's deadline).
- webhook latency: each of those timer turns completes its run, which has a webhook for run.completed; commit of the
  turn -> the receiver has the request.
- delivery throughput: N runs that complete on their first turn, each with one delivery, are started first with the
  receiver answering 503 (so all wait); then it answers 204, one redelivery is asked per delivery, and the time from
  the first to the last 204 is measured.
- background turns: N first turns sent with Prefer: respond-async by 16 clients at once; from the first request to the
  last turn's commit (its completed_at), what one server completes per second while it also accepts them. Then 200
  background turns one at a time on an idle server: request sent -> commit of the turn.
"""
import argparse, datetime, http.server, json, os, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--timers", type=int, default=300)
parser.add_argument("--deliveries", type=int, default=2000)
parser.add_argument("--background", type=int, default=2000)
parser.add_argument("--port", type=int, default=5392)
args = parser.parse_args()

root = os.environ.get("SESSIONS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
dll = os.path.join(root, "src/Sessions.Api/bin/Release/net10.0/Sessions.Api.dll")
base = f"http://127.0.0.1:{args.port}"
received = {}  # webhook-id -> (receipt time, status answered)
lock = threading.Lock()
answer = {"status": 204}


class Receiver(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as real receivers do: an HTTP/1.0 one closes each connection and the client's next request on it fails.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        status = answer["status"]
        with lock:
            if status == 204 or self.headers["webhook-id"] not in received:
                received[self.headers["webhook-id"]] = (now, status)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"


def call(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        text = response.read()
        return json.loads(text) if text else None


def seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name, values_ms, **extra):
    print(json.dumps({"measure": name, "n": len(values_ms), "median_ms": round(statistics.median(values_ms), 1),
                      "p99_ms": round(percentile(values_ms, 99), 1), "max_ms": round(max(values_ms), 1), **extra}), flush=True)


def parallel(count, work, threads=16):
    results = [None] * count
    def run(index):
        for i in range(index, count, threads):
            results[i] = work(i)
    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    return results


folder = tempfile.mkdtemp()
server = subprocess.Popen(
    ["dotnet", dll, f"--urls={base}", f"--Sessions:Sqlite:Path={folder}/sessions.db", "--Sessions:RateLimit:PermitsPerSecond=0",
     "--Sessions:Webhooks:AllowPrivateNetworks=true", "--Logging:LogLevel:Default=Warning"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)

    # Delivery throughput first, while nothing else is due.
    answer["status"] = 503
    burst = call("POST", "/v1/workflows", {"name": "Burst", "start": "done", "webhooks": [{"url": hook}], "nodes": [{"id": "done", "type": "end"}]})["workflow_id"]
    runs = parallel(args.deliveries, lambda i: call("POST", f"/v1/workflows/{burst}/execute", {})["run_id"])
    time.sleep(2)
    deliveries = parallel(len(runs), lambda i: call("GET", f"/v1/runs/{runs[i]}/webhook-deliveries")["deliveries"][0]["id"])
    with lock:
        received.clear()
    answer["status"] = 204
    parallel(len(deliveries), lambda i: call("POST", f"/v1/runs/{runs[i]}/webhook-deliveries/{deliveries[i]}/redeliver"))
    deadline = time.time() + 300
    while time.time() < deadline:
        with lock:
            done = [t for (t, s) in received.values() if s == 204]
        if len(done) >= len(deliveries):
            break
        time.sleep(0.2)
    span = max(done) - min(done)
    print(json.dumps({"measure": "deliveries_per_second", "n": len(done), "seconds": round(span, 2), "per_second": round(len(done) / span, 1)}), flush=True)

    # Timers, and the webhooks of the turns they take.
    with lock:
        received.clear()
    timed = call("POST", "/v1/workflows", {
        "name": "Back soon", "start": "hold", "webhooks": [{"url": hook, "events": ["run.completed"]}],
        "nodes": [{"id": "hold", "type": "pause", "resume_after_seconds": 2, "next": "done"}, {"id": "done", "type": "end"}]})["workflow_id"]
    runs = parallel(args.timers, lambda i: call("POST", f"/v1/workflows/{timed}/execute", {})["run_id"])
    time.sleep(4)
    deadline = time.time() + 120
    details = []
    for run_id in runs:
        while True:
            run = call("GET", f"/v1/runs/{run_id}")
            if run["status"] == "completed" or time.time() > deadline:
                break
            time.sleep(0.1)
        details.append(run)
    time.sleep(2)
    timer_ms, hook_ms = [], []
    for run in details:
        turn = run["turns"][1]
        fired = next(e for e in turn["events"] if e["type"] == "timer_fired")
        committed = seconds(turn["completed_at"])
        timer_ms.append((committed - seconds(fired["deadline"])) * 1000)
        delivery = call("GET", f"/v1/runs/{run['run_id']}/webhook-deliveries")["deliveries"][0]
        with lock:
            got = received.get(delivery["id"])
        if got:
            hook_ms.append((got[0] - committed) * 1000)
    report("timer_deadline_to_commit", timer_ms, poll_ms=500)
    report("webhook_commit_to_receipt", hook_ms, poll_ms=500)

    # Background turns: many at once, then one at a time.
    asked = call("POST", "/v1/workflows", {
        "name": "Ask", "start": "greet",
        "nodes": [{"id": "greet", "type": "say", "text": "Hi!", "next": "ask"}, {"id": "ask", "type": "ask", "prompt": "Name?", "variable": "name", "next": "ask"}]})["workflow_id"]
    background = {"Prefer": "respond-async"}
    first_sent = time.time()
    runs = parallel(args.background, lambda i: call("POST", f"/v1/workflows/{asked}/execute", {}, background)["run_id"])
    committed = []
    for run_id in runs:
        while True:
            run = call("GET", f"/v1/runs/{run_id}")
            if run["status"] == "waiting_for_user_input":
                break
            time.sleep(0.05)
        committed.append(seconds(run["turns"][0]["completed_at"]))
    span = max(committed) - first_sent
    print(json.dumps({"measure": "background_turns_per_second", "n": len(runs), "seconds": round(span, 2), "per_second": round(len(runs) / span, 1)}), flush=True)

    latency_ms = []
    for _ in range(200):
        sent = time.time()
        run_id = call("POST", f"/v1/workflows/{asked}/execute", {}, background)["run_id"]
        answer_json = call("GET", f"/v1/runs/{run_id}/turns/1/result?wait_seconds=30")
        assert answer_json["status"] == "waiting_for_user_input"
        turn = call("GET", f"/v1/runs/{run_id}/turns/1")
        latency_ms.append((seconds(turn["completed_at"]) - sent) * 1000)
    report("background_accept_to_commit", latency_ms)
finally:
    server.terminate()
    server.wait()
    receiver.shutdown()
