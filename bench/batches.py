"""Batches: the wall time of a batch of N items from the request to its last item settled. Starts the server it
measures (a Release build of this checkout, or of the checkout in SESSIONS_ROOT) on a fresh SQLite file (or on
PostgreSQL with --postgres CONNECTION_STRING) and prints one JSON line per batch.
    dotnet build -c Release src/Sessions.Api && python3 bench/batches.py [--items 1000] [--concurrency 8 16 32]

The workflow is the one of the batch tests: a `set`, a `branch`, then `end` with the greeting as output (1 item in 100
waits at an `ask`, 1 in 100 fails). For each max_concurrency: POST the batch as a JSON array, poll GET
/v1/batches/{id} every 50 ms until it is completed, then read the results (JSON Lines) and check that every item has
its own run. The wall time is from sending the POST to the first poll that finds the batch completed; items per second
is items / wall time.
"""
import argparse, json, os, socket, subprocess, tempfile, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--items", type=int, default=1000)
parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16, 32])
parser.add_argument("--port", type=int, default=5395)
parser.add_argument("--postgres", default=None)
args = parser.parse_args()

root = os.environ.get("SESSIONS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
dll = os.path.join(root, "src/Sessions.Api/bin/Release/net10.0/Sessions.Api.dll")
base = f"http://127.0.0.1:{args.port}"
greeter = {
    "name": "Batch greeter", "start": "greet", "variables": {"name": ""},
    "nodes": [
        {"id": "greet", "type": "set", "assign": {"greeting": "Hello {{name}}"}, "next": "route"},
        {"id": "route", "type": "branch", "default": "done", "cases": [
            {"when": {"var": "name", "op": "eq", "value": "ask"}, "next": "ask"},
            {"when": {"var": "name", "op": "eq", "value": "fail"}, "next": "fail"}]},
        {"id": "ask", "type": "ask", "prompt": "More?", "variable": "more", "next": "done"},
        {"id": "fail", "type": "fail", "error": "No greeting for {{name}}"},
        {"id": "done", "type": "end", "output": "{{greeting}}"}]}


def call(method, path, body=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        text = response.read()
        return text if raw else json.loads(text)


folder = tempfile.mkdtemp()
store = ["--Sessions:Store=postgres", f"--Sessions:Postgres:ConnectionString={args.postgres}"] if args.postgres else [f"--Sessions:Sqlite:Path={folder}/sessions.db"]
server = subprocess.Popen(
    ["dotnet", dll, f"--urls={base}", *store, "--Sessions:RateLimit:PermitsPerSecond=0", "--Logging:LogLevel:Default=Warning"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)

    workflow = call("POST", "/v1/workflows", greeter)["workflow_id"]
    items = [{"name": "ask" if i % 100 == 7 else "fail" if i % 100 == 9 else f"n{i}"} for i in range(args.items)]
    call("POST", f"/v1/workflows/{workflow}/batches", items[:20])  # warm-up
    time.sleep(2)
    for concurrency in args.concurrency:
        started = time.perf_counter()
        batch_id = call("POST", f"/v1/workflows/{workflow}/batches?max_concurrency={concurrency}", items)["batch_id"]
        while True:
            batch = call("GET", f"/v1/batches/{batch_id}")
            if batch["status"] == "completed":
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        lines = [json.loads(line) for line in call("GET", f"/v1/batches/{batch_id}/results", raw=True).decode().splitlines() if line]
        assert len(lines) == args.items and len({line["run_id"] for line in lines}) == args.items, "an item without a run of its own"
        print(json.dumps({"measure": "batch", "store": "postgres" if args.postgres else "sqlite", "items": args.items, "max_concurrency": concurrency,
                          "wall_seconds": round(wall, 2), "items_per_second": round(args.items / wall, 1), "progress": batch["progress"]}), flush=True)
finally:
    server.terminate()
    server.wait()
