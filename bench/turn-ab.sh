#!/usr/bin/env bash
# Two builds of Sessions on SQLite, run alternately: the suite's load driver (TurnLoad) and 3-turn conversation against
# a Release server from checkout A, then from checkout B, PAIRS times, each on a fresh SQLite file; prints each run and
# the medians of turns/s, server CPU ms per turn and p99. Alternating pairs are what compare on a noisy machine.
#   bash bench/turn-ab.sh /path/to/before /path/to/after            8 conversations, 3 pairs, 10 s each
#   CONCURRENCY=32 PAIRS=5 SECONDS_PER_RUN=20 bash bench/turn-ab.sh A B
#   STORE=postgres bash bench/turn-ab.sh A B       on PostgreSQL instead (a fresh database per run, without TLS), on
#                                                   the server .ci/run starts or SESSIONS_BENCH_POSTGRES
#   ENV_B="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" bash bench/turn-ab.sh . .
#                                                   one checkout with and without settings: ENV_A and ENV_B are more
#                                                   environment for A's and B's servers (and name the runs)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd)
pairs=${PAIRS:-3}; concurrency=${CONCURRENCY:-8}; seconds=${SECONDS_PER_RUN:-10}; store=${STORE:-sqlite}
server=${SESSIONS_BENCH_POSTGRES:-"Host=127.0.0.1;Port=5432;Username=sessions;Password=sessions;Database=sessions"}
pg() { sed -E "s/.*$1=([^;]*).*/\1/" <<<"$server"; }
database=sessions_bench_ab_$$
work=$(mktemp -d)
drop_database() { [ "$store" = postgres ] && PGPASSWORD=$(pg Password) psql -q -h "$(pg Host)" -p "$(pg Port)" -U "$(pg Username)" -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE);" >/dev/null 2>&1; rm -rf "$work"; }
trap drop_database EXIT
for root in "$a" "$b"; do dotnet build "$root/src/Sessions.Api" -c Release -v quiet -nologo >/dev/null; done
dotnet build bench/TurnLoad -c Release -v quiet -nologo >/dev/null

run_once() { # root, more environment (space-separated NAME=value)
  rm -f "$work"/s.db*
  local store_settings=(Sessions__Store=sqlite Sessions__Sqlite__Path="$work/s.db")
  if [ "$store" = postgres ]; then
    PGPASSWORD=$(pg Password) psql -q -h "$(pg Host)" -p "$(pg Port)" -U "$(pg Username)" -d postgres \
      -c "DROP DATABASE IF EXISTS $database WITH (FORCE);" -c "CREATE DATABASE $database;" >/dev/null 2>&1
    store_settings=(Sessions__Store=postgres "Sessions__Postgres__ConnectionString=Host=$(pg Host);Port=$(pg Port);Username=$(pg Username);Password=$(pg Password);Database=$database;SSL Mode=Disable")
  fi
  (cd "$1/src/Sessions.Api/bin/Release/net10.0" && exec env "${store_settings[@]}" \
    Sessions__RateLimit__PermitsPerSecond=0 Logging__LogLevel__Default=Warning $2 dotnet Sessions.Api.dll --urls http://127.0.0.1:5410 >"$work/server.log" 2>&1) &
  local pid=$!
  for _ in $(seq 1 150); do curl -sf http://127.0.0.1:5410/alive >/dev/null && break; sleep 0.2; done
  local workflow
  workflow=$(curl -sf -X POST http://127.0.0.1:5410/v1/workflows -H 'Content-Type: application/json' -d '{
    "name": "Bench", "start": "ask_name", "nodes": [
      { "id": "ask_name", "type": "ask", "prompt": "Your name?", "variable": "name", "next": "ask_topic" },
      { "id": "ask_topic", "type": "ask", "prompt": "Hello {{name}}, what about?", "variable": "topic", "next": "thanks" },
      { "id": "thanks", "type": "say", "text": "Thanks {{name}}, noted: {{topic}}.", "next": "done" },
      { "id": "done", "type": "end", "output": "{{name}}: {{topic}}" } ] }' | sed -E 's/.*"workflow_id":"([^"]+)".*/\1/')
  dotnet bench/TurnLoad/bin/Release/net10.0/TurnLoad.dll --target=http://127.0.0.1:5410 --workflow="$workflow" --label="$1${2:+ [$2]}" \
    --concurrency="$concurrency" --seconds="$seconds" --warmup=2 --settle="${SETTLE_SECONDS:-30}" --pid="$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if [ "$store" = postgres ]; then # how many of the runs' updates were HOT (a new row version on the same page, no index entry)
    sleep 1
    PGPASSWORD=$(pg Password) psql -qtA -h "$(pg Host)" -p "$(pg Port)" -U "$(pg Username)" -d "$database" -c \
      "SELECT json_build_object('target', '$1', 'runs_updates', n_tup_upd, 'runs_hot_updates', n_tup_hot_upd) FROM pg_stat_user_tables WHERE relname = 'runs';" >&2
  fi
}

for _ in $(seq 1 "$pairs"); do run_once "$a" "${ENV_A:-}"; run_once "$b" "${ENV_B:-}"; done | tee "$work/runs.jsonl"
python3 - "$work/runs.jsonl" <<'PY'
import json, statistics, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith('{'):
        r = json.loads(line); runs[r['target']].append(r)
for root, rs in runs.items():
    median = lambda key: statistics.median(r[key] for r in rs)
    print(f"{root}: turns/s {median('turns_per_second'):,.0f} · server CPU {median('server_cpu_ms_per_turn'):.3f} ms/turn · p99 {median('p99_ms'):.1f} ms (medians of {len(rs)})")
PY
