#!/usr/bin/env python3
"""Writes the old-release fixtures of the layout migration test (StoreUpgradeTests).

Run once, by hand, with a build of the release *before* turns kept their events (one record per turn):

    git worktree add /tmp/release a1da70b
    (cd /tmp/release && dotnet build -c Release src/Sessions.Api)
    python3 tests/Sessions.Api.Tests/Fixtures/release-0/generate.py /tmp/release/src/Sessions.Api/bin/Release/net10.0 sqlite
    python3 tests/Sessions.Api.Tests/Fixtures/release-0/generate.py /tmp/release/src/Sessions.Api/bin/Release/net10.0 postgres

It starts that server, makes runs of every shape through its API (multi-turn, finished, failed, cancelled, looping,
timers fired and pending, background turns run and still queued, files, webhooks delivered and pending, forks,
replays, recorded calls, a LangGraph thread, labels, a deleted run), then reads every run back through the API and
keeps what each read answered (`expected-<store>.json`) beside the store itself (`sessions.db`, or `postgres.sql`
from pg_dump). The test opens that store with the new server and asks the same reads.
"""
import http.server
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SERVER = "Host=127.0.0.1;Port=5432;Username=sessions;Password=sessions"
PG_DATABASE = "sessions_release_fixture"
DELETED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service(http.server.BaseHTTPRequestHandler):
    """An HTTP service for http_request nodes (answers with what it was sent) and a webhook receiver."""
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path.startswith("/hooks"):
            Service.received.append(body)
            self.send_response(204)
            self.end_headers()
            return
        answer = json.dumps({"echo": json.loads(body or b"{}"), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class Server:
    def __init__(self, build, store, data, phase_settings):
        self.port = free_port()
        arguments = ["dotnet", os.path.join(build, "Sessions.Api.dll"), f"--urls=http://127.0.0.1:{self.port}",
                     "--Sessions:Webhooks:AllowPrivateNetworks=true",
                     "--Sessions:Secrets:default:hooks=fixture-secret"] + phase_settings
        if store == "sqlite":
            arguments.append(f"--Sessions:Sqlite:Path={data}")
        else:
            arguments += ["--Sessions:Store=postgres", f"--Sessions:Postgres:ConnectionString={PG_SERVER};Database={PG_DATABASE}"]
        self.process = subprocess.Popen(arguments, cwd=build, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env={**os.environ, "ASPNETCORE_ENVIRONMENT": "Production"})
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                if self.call("GET", "/health")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise RuntimeError(self.process.stdout.read().decode())

    def call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if body is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def json(self, method, path, body=None, headers=None, expect=(200, 201, 202)):
        status, text = self.call(method, path, body, headers)
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status} {text}")
        return json.loads(text) if text else None

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


def upload(server, definition):
    return server.json("POST", "/v1/workflows", definition)["workflow_id"]


def execute(server, workflow, body, headers=None, expect=(200, 201, 202)):
    return server.json("POST", f"/v1/workflows/{workflow}/execute", body, headers, expect)


def definitions(service):
    return {
        "timers": {
            "name": "Timers", "start": "ask",
            "nodes": [
                {"id": "ask", "type": "ask", "prompt": "Quick, a word?", "variable": "word", "input": {"kind": "text"},
                 "timeout_seconds": 1, "on_timeout": "late", "next": "thanks"},
                {"id": "late", "type": "say", "text": "Too late.", "next": "hold"},
                {"id": "thanks", "type": "say", "text": "Thanks for {{word}}.", "next": "hold"},
                {"id": "hold", "type": "pause", "resume_after_seconds": 2592000, "next": "bye"},
                {"id": "bye", "type": "end"},
            ],
        },
        "calls": {
            "name": "Calls", "start": "ask",
            "webhooks": [{"url": service + "/hooks/signed", "secret": "hooks"}],
            "nodes": [
                {"id": "ask", "type": "ask", "prompt": "Order number?", "variable": "order", "input": {"kind": "text"}, "next": "lookup"},
                {"id": "lookup", "type": "http_request", "method": "POST", "url": service + "/orders",
                 "body": {"order": "{{order}}"}, "response": {"found": "echo.order"}, "next": "tell"},
                {"id": "tell", "type": "say", "text": "Found {{found}}.", "next": "again"},
                {"id": "again", "type": "ask", "prompt": "Another?", "variable": "more", "input": {"kind": "boolean"}, "next": "decide"},
                {"id": "decide", "type": "branch", "cases": [{"when": {"var": "more", "op": "eq", "value": True}, "next": "ask"}], "default": "done"},
                {"id": "done", "type": "end", "output": {"order": "{{order}}"}},
            ],
        },
        "loops": {
            "name": "Loops", "start": "count", "variables": {"n": 0},
            "nodes": [
                {"id": "count", "type": "set", "assign": {"n": "again"}, "next": "check"},
                {"id": "check", "type": "branch", "cases": [{"when": {"var": "n", "op": "eq", "value": "stop"}, "next": "done"}], "default": "count"},
                {"id": "done", "type": "end"},
            ],
        },
        "fails": {
            "name": "Fails", "start": "ask",
            "nodes": [
                {"id": "ask", "type": "ask", "prompt": "Say anything", "variable": "x", "input": {"kind": "text"}, "next": "boom"},
                {"id": "boom", "type": "fail", "error": "Failed on purpose: {{x}}"},
            ],
        },
        "parallel": {
            "name": "Parallel", "start": "both",
            "nodes": [
                {"id": "both", "type": "parallel", "steps": [
                    {"id": "a", "type": "http_request", "method": "POST", "url": service + "/a", "body": {"k": "a"}, "response": {"ra": "echo.k"}},
                    {"id": "b", "type": "http_request", "method": "POST", "url": service + "/b", "body": {"k": "b"}, "response": {"rb": "echo.k"}},
                ], "next": "ask"},
                {"id": "ask", "type": "ask", "prompt": "Send a file", "variable": "doc", "input": {"kind": "file"}, "next": "done"},
                {"id": "done", "type": "end"},
            ],
        },
    }


def make_runs(server, service, store):
    """Phase one: the server's workers run, so timers fire, background turns run and webhooks are delivered."""
    booking = "66a1f0000000000000000003"
    order = "66a1f0000000000000000001"
    made = {name: upload(server, d) for name, d in definitions(service).items()}

    # A booking run taken to the end, one left paused, one cancelled, one with labels and a webhook of its own.
    run = execute(server, booking, {"run_input": {}})["run_id"]
    for reply in ["dental", "2027-03-04", "morning"]:
        execute(server, booking, {"run_id": run, "run_input": {"user_message": reply}})
    execute(server, booking, {"run_id": run, "run_input": {"command": "resume"}})
    execute(server, booking, {"run_id": run, "run_input": {"user_message": "yes"}})
    paused = execute(server, booking, {"run_input": {"metadata": {"tier": "gold"}, "origin_reference": "fixture-1"}})["run_id"]
    for reply in ["checkup", "2027-05-06", "afternoon"]:
        execute(server, booking, {"run_id": paused, "run_input": {"user_message": reply}})
    stopped = execute(server, booking, {"run_input": {"webhook_url": service + "/hooks/own"}})["run_id"]
    execute(server, booking, {"run_id": stopped, "run_input": {"user_message": "vaccine"}})
    execute(server, booking, {"run_id": stopped, "run_input": {"command": "stop"}})
    # A rejected reply (nothing recorded) and a turn under an idempotency key.
    execute(server, booking, {"run_id": paused, "run_input": {"user_message": "not a date"}}, expect=(200, 409, 422))
    key = execute(server, order, {"run_input": {}}, {"Idempotency-Key": f"fixture-{store}-1"})["run_id"]
    execute(server, order, {"run_id": key, "run_input": {"user_message": "A-1001"}}, {"Idempotency-Key": f"fixture-{store}-2"}, expect=(200, 422))

    # Timers: one ask times out (its timer turn runs), then a pause waits 30 days (pending).
    timed = execute(server, made["timers"], {"run_input": {}})["run_id"]
    answered = execute(server, made["timers"], {"run_input": {}})["run_id"]
    execute(server, made["timers"], {"run_id": answered, "run_input": {"user_message": "hello"}})
    deadline = time.time() + 20
    while server.json("GET", f"/v1/runs/{timed}")["status"] != "paused" and time.time() < deadline:
        time.sleep(0.2)

    # Recorded calls, signed webhooks, several turns; a loop guard; a failure.
    calls = execute(server, made["calls"], {"run_input": {}})["run_id"]
    execute(server, made["calls"], {"run_id": calls, "run_input": {"user_message": "A-1"}})
    execute(server, made["calls"], {"run_id": calls, "run_input": {"user_message": "yes"}})
    execute(server, made["calls"], {"run_id": calls, "run_input": {"user_message": "A-2"}})
    execute(server, made["calls"], {"run_id": calls, "run_input": {"user_message": "no"}})
    execute(server, made["loops"], {"run_input": {}})
    failed = execute(server, made["fails"], {"run_input": {}})["run_id"]
    execute(server, made["fails"], {"run_id": failed, "run_input": {"user_message": "x"}})

    # Parallel steps, then a file.
    files = execute(server, made["parallel"], {"run_input": {}})["run_id"]
    boundary = "fixtureboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"run_id\"\r\n\r\n{files}\r\n"
            + f"--{boundary}\r\nContent-Disposition: form-data; name=\"run_input\"\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
            + f"--{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\n"
            + "A note kept with the run.\r\n" + f"--{boundary}--\r\n").encode()
    status, text = server.call("POST", f"/v1/workflows/{made['parallel']}/execute", raw=body,
                               headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    if status != 200:
        raise RuntimeError(f"file turn -> {status} {text}")

    # A background turn that ran.
    background = execute(server, booking, {"run_input": {}})["run_id"]
    execute(server, booking, {"run_id": background, "run_input": {"user_message": "dental"}}, {"Prefer": "respond-async"})
    deadline = time.time() + 20
    while server.json("GET", f"/v1/runs/{background}")["turn_number"] < 2 and time.time() < deadline:
        time.sleep(0.2)

    # Forks (one on turn 2 carried on) and a replay; a LangGraph thread.
    fork = server.json("POST", f"/v1/runs/{run}/fork", {"turn_number": 3})["run_id"]
    execute(server, booking, {"run_id": fork, "run_input": {"user_message": "afternoon"}})
    server.json("POST", f"/v1/runs/{calls}/replay", {})
    thread = server.json("POST", "/threads", {"metadata": {"from": "fixture"}})["thread_id"]
    server.json("POST", f"/threads/{thread}/runs/wait", {"assistant_id": booking, "input": {}})
    server.json("POST", f"/threads/{thread}/runs/wait", {"assistant_id": booking, "command": {"resume": "checkup"}})

    # A deleted run.
    gone = execute(server, booking, {"run_input": {}})["run_id"]
    execute(server, booking, {"run_id": gone, "run_input": {"user_message": "dental"}})
    server.json("DELETE", f"/v1/runs/{gone}", expect=(204,))
    DELETED.append(gone)
    deadline = time.time() + 20
    while len(Service.received) < 10 and time.time() < deadline:
        time.sleep(0.2)


def leave_pending(server, service):
    """Phase two, no workers: background turns stay queued and webhook deliveries stay pending."""
    booking = "66a1f0000000000000000003"
    queued = execute(server, booking, {"run_input": {}})["run_id"]
    execute(server, booking, {"run_id": queued, "run_input": {"user_message": "checkup"}}, {"Prefer": "respond-async"})
    execute(server, booking, {"run_id": queued, "run_input": {"user_message": "2027-01-02", "on_busy": "enqueue"}}, {"Prefer": "respond-async"})
    hooked = execute(server, booking, {"run_input": {"webhook_url": service + "/hooks/pending"}})["run_id"]
    execute(server, booking, {"run_id": hooked, "run_input": {"user_message": "vaccine"}})


def read_all(server):
    """Every read of every run, deleted ones included, as the API answers them: {path: {status, body}}."""
    reads = {}

    def keep(path):
        status, text = server.call("GET", path)
        try:
            body = json.loads(text) if text else text
        except ValueError:
            body = text
        if isinstance(body, dict) and status >= 400:
            body.pop("trace_id", None)  # each request's own; the test leaves it out too
        reads[path] = {"status": status, "body": body}
        return reads[path]["body"]

    ids = []
    page = 1
    while True:
        listed = keep(f"/v1/runs?limit=100&page={page}")
        ids += [item["run_id"] for item in listed["items"]]
        if page * 100 >= listed["total"]:
            break
        page += 1
    keep("/v1/runs/stats")
    for run_id in DELETED:
        keep(f"/v1/runs/{run_id}")
        keep(f"/v1/runs/{run_id}/events?after_seq=0&limit=1000")
    for run_id in ids:
        run = keep(f"/v1/runs/{run_id}")
        turns = keep(f"/v1/runs/{run_id}/turns?after_turn=-1&limit=200")
        for turn in turns["turns"]:
            keep(f"/v1/runs/{run_id}/turns/{turn['turn_number']}")
        keep(f"/v1/runs/{run_id}/turns?after_turn=-1&limit=2")
        events = keep(f"/v1/runs/{run_id}/events?after_seq=0&limit=1000")
        for after in [1, 3, 7]:
            keep(f"/v1/runs/{run_id}/events?after_seq={after}&limit=2")
        keep(f"/v1/runs/{run_id}/transcript?format=json")
        keep(f"/v1/runs/{run_id}/transcript?format=markdown")
        keep(f"/v1/runs/{run_id}/webhook-deliveries")
        keep(f"/threads/{run_id}/state")
        for turn in turns["turns"]:
            for file_id in re.findall(r'"file_id": "([0-9a-f]{24})"', json.dumps(turn)):
                keep(f"/v1/runs/{run_id}/files/{file_id}")
    return reads


def main():
    build, store = sys.argv[1], sys.argv[2]
    service_port = free_port()
    service = f"http://127.0.0.1:{service_port}"
    threading.Thread(target=http.server.ThreadingHTTPServer(("127.0.0.1", service_port), Service).serve_forever, daemon=True).start()
    data = os.path.join(HERE, "work", "sessions.db")
    shutil.rmtree(os.path.join(HERE, "work"), ignore_errors=True)
    os.makedirs(os.path.join(HERE, "work"))
    if store == "postgres":
        psql = ["psql", "-h", "127.0.0.1", "-U", "sessions", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"]
        subprocess.run(psql + [f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"], check=True, env={**os.environ, "PGPASSWORD": "sessions"})
        subprocess.run(psql + [f"CREATE DATABASE {PG_DATABASE}"], check=True, env={**os.environ, "PGPASSWORD": "sessions"})

    server = Server(build, store, data, [])
    try:
        make_runs(server, service, store)
    finally:
        server.stop()
    server = Server(build, store, data, ["--Sessions:Workers:PollMilliseconds=0", "--Sessions:Webhooks:PollMilliseconds=0"])
    try:
        leave_pending(server, service)
        reads = read_all(server)
        if read_all(server) != reads:
            raise RuntimeError("Two reads of the same runs differ: the fixture would not be stable.")
    finally:
        server.stop()

    with open(os.path.join(HERE, f"expected-{store}.json"), "w") as out:
        json.dump(reads, out, indent=1, sort_keys=True)
    if store == "sqlite":
        with sqlite3.connect(data) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE);")
            connection.execute("VACUUM;")
        shutil.copy(data, os.path.join(HERE, "sessions.db"))
    else:
        dump = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "sessions", "--no-owner", "--no-privileges", "--inserts", PG_DATABASE],
                              check=True, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": "sessions"}).stdout
        # psql's \restrict lines (pg_dump 15.14 on) bind a dump to one psql run; the test runs it with its own.
        dump = "\n".join(line for line in dump.splitlines() if not re.match(r"^\\(un)?restrict ", line)) + "\n"
        with open(os.path.join(HERE, "postgres.sql"), "w") as out:
            out.write(dump)
    shutil.rmtree(os.path.join(HERE, "work"), ignore_errors=True)
    print(f"{store}: {len(reads)} reads kept")


if __name__ == "__main__":
    main()
