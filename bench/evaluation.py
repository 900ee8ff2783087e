"""Evaluations: the wall time of evaluating a version against N real conversations of the order-assistant sample, and
what recording a turn's calls adds to what it stores. Starts the server it measures (a Release build of this checkout,
or of the checkout in SESSIONS_ROOT) on a fresh SQLite file, with a stand-in model (an OpenAI-compatible chat endpoint)
and a stand-in orders API, both on loopback in this process.
    dotnet build -c Release src/Sessions.Api && python3 bench/evaluation.py [--runs 1000] [--concurrency 4 8]

1. N conversations of the order-assistant sample, two turns each: the start (the model greets) and "Where is my order
   NNNNNN?" (a cheap model extracts the number as JSON, the orders API is called, the run completes): three recorded
   calls per conversation, with N/10 of the orders unknown (a 404 the run tells the user about).
2. The stand-ins are stopped: from here nothing answers a model or HTTP call.
3. For each concurrency: POST an evaluation of version 0 (the version the runs ran) over the newest N runs, poll
   GET every 100 ms until it is completed, and check every run replayed unchanged. The wall time is from the POST to the
   first poll that finds it completed.
4. Then a version whose extraction prompt differs is evaluated: every run stops at turn 2 on `request_changed`.
5. Storage: the `calls` column of the conversations' turns (the bytes stored: deflated when over 1 KiB), per turn that
   made calls and per call.
"""
import argparse, json, os, re, socket, sqlite3, subprocess, tempfile, threading, time, urllib.request, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=1000)
parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8])
parser.add_argument("--port", type=int, default=5396)
args = parser.parse_args()

root = os.environ.get("SESSIONS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
dll = os.path.join(root, "src/Sessions.Api/bin/Release/net10.0/Sessions.Api.dll")
base = f"http://127.0.0.1:{args.port}"
sample = "66a1f0000000000000000004"


class StandIns(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: JSON mode answers the six digits of the last user message; otherwise a greeting.
    GET /orders/N: shipped, unless N ends in 0 (404)."""

    def log_message(self, *_):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        last = next((m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), "")
        if (request.get("response_format") or {}).get("type") == "json_object":
            digits = re.findall(r"\b\d{6}\b", last.split("from:")[-1])
            text = json.dumps({"order_id": digits[0] if digits else None})
        else:
            text = "Hello! Which order can I look up for you?"
        self.answer(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": request["model"],
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}})

    def do_GET(self):
        number = self.path.rsplit("/", 1)[-1]
        if number.endswith("0"):
            self.answer(404, {"error": "no such order"})
        else:
            self.answer(200, {"id": number, "status": "shipped", "delivery": {"eta": "2026-12-24", "carrier": "PostNord"}})


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def evaluate(version, concurrency):
    started = time.perf_counter()
    created = call("POST", f"/v1/workflows/{sample}/versions/{version}/evaluations", {"limit": args.runs, "max_concurrency": concurrency})
    while True:
        read = call("GET", f"/v1/workflows/{sample}/versions/{version}/evaluations/{created['evaluation_id']}?limit=1")
        if read["status"] == "completed":
            return time.perf_counter() - started, read
        time.sleep(0.1)


model = ThreadingHTTPServer(("127.0.0.1", 0), StandIns)
threading.Thread(target=model.serve_forever, daemon=True).start()
stand_ins = f"http://127.0.0.1:{model.server_address[1]}"
folder = tempfile.mkdtemp()
database = f"{folder}/sessions.db"
server = subprocess.Popen(
    ["dotnet", dll, f"--urls={base}", f"--Sessions:Sqlite:Path={database}", "--Sessions:RateLimit:PermitsPerSecond=0", "--Logging:LogLevel:Default=Warning",
     f"--Sessions:Llm:Configs:default:BaseUrl={stand_ins}/v1", "--Sessions:Llm:Configs:default:Model=stand-in-large",
     f"--Sessions:Llm:Configs:cheap:BaseUrl={stand_ins}/v1", "--Sessions:Llm:Configs:cheap:Model=stand-in-small"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    for _ in range(100):
        try:
            call("GET", f"/v1/workflows/{sample}")
            break
        except OSError:
            time.sleep(0.2)

    started = time.perf_counter()
    for i in range(args.runs):
        run = call("POST", f"/v1/workflows/{sample}/execute", {"run_input": {"dynamic_variables": {"orders_api": stand_ins}}})
        done = call("POST", f"/v1/workflows/{sample}/execute", {"run_id": run["run_id"], "run_input": {"user_message": f"Where is my order {100000 + i}?"}})
        assert done["status"] == "completed", done
    print(json.dumps({"conversations": args.runs, "seconds_to_record": round(time.perf_counter() - started, 1)}))

    model.shutdown()
    model.server_close()

    for concurrency in args.concurrency:
        wall, read = evaluate(0, concurrency)
        counts = read["summary"]["counts"]
        assert counts["unchanged"] == args.runs, read["summary"]
        print(json.dumps({"version": "same", "runs": args.runs, "max_concurrency": concurrency, "wall_seconds": round(wall, 2),
                          "runs_per_second": round(args.runs / wall, 1), "counts": counts}))

    definition = call("GET", f"/v1/workflows/{sample}/versions/0")["definition"]
    definition["nodes"][1]["messages"][0]["content"] = definition["nodes"][1]["messages"][0]["content"].replace("Extract", "Find")
    changed = call("POST", f"/v1/workflows/{sample}/versions?activate=false", definition)["version_number"]
    wall, read = evaluate(changed, args.concurrency[-1])
    summary = read["summary"]
    assert summary["counts"]["stopped"] == args.runs and summary["first_divergent_turns"] == [{"turn": 2, "runs": args.runs}], summary
    print(json.dumps({"version": "changed prompt", "runs": args.runs, "max_concurrency": args.concurrency[-1], "wall_seconds": round(wall, 2),
                      "runs_per_second": round(args.runs / wall, 1), "counts": summary["counts"], "differences": summary["differences"]}))

    with sqlite3.connect(database) as db:
        # A turn record's long JSON is kept deflated (a BLOB): count what is stored, and read the calls as the text it holds.
        rows = db.execute("""
            SELECT t.calls, t.events FROM run_turns t JOIN runs r ON r.id = t.run_id
            WHERE json_extract(r.doc, '$.origin') IS NULL""").fetchall()
        text = lambda value: zlib.decompress(value).decode() if isinstance(value, bytes) else value
        stored_size = lambda value: len(value) if isinstance(value, bytes) else len(value.encode())
        with_calls = [c for c, _ in rows if c is not None]
        turns, calls, stored = len(with_calls), sum(len(json.loads(text(c))) for c in with_calls), sum(stored_size(c) for c in with_calls)
        events = sum(stored_size(e) for _, e in rows if e is not None)
    print(json.dumps({"turns_with_calls": turns, "calls": calls, "calls_bytes": stored, "bytes_per_call": round(stored / calls),
                      "bytes_per_turn_with_calls": round(stored / turns), "events_bytes_same_runs": events}))
finally:
    server.terminate()
    server.wait()
