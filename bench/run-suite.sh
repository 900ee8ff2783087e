#!/usr/bin/env bash
# The turn-path benchmark suite: one load driver (TurnLoad), one 3-turn conversation, at 1, 8 and 32 concurrent
# conversations, against each target in turn on loopback:
#   floor-http          ASP.NET Core answering fixed bytes
#   floor-sqlite        the same plus one SQLite transaction per turn (WAL, synchronous=NORMAL)
#   floor-sqlite-full   the same with synchronous=FULL (an fsync per commit)
#   floor-sqlite-group  synchronous=FULL, the concurrent turns' rows committed together by one writer (group commit)
#   floor-sqlite-store  the HTTP floor plus each turn's commit through Sessions' own SQLite store and writer (FULL,
#                       group commit), with the rows Sessions stores for that turn and nothing else: what storing it costs
#   floor-pg            the HTTP floor plus one PostgreSQL transaction per turn (one round trip, waiting for the WAL flush)
#   floor-pg-store      the HTTP floor plus each turn's commit through Sessions' own PostgreSQL store (its one-round-trip
#                       batch), with the records Sessions stores for that turn and nothing else: what storing it costs
#   floor-pg-2          two such floors sharing the database, each turn to the other one: what a second instance on
#                       the same cores costs a server that only writes
#   sessions-sqlite     Sessions on its embedded store (synchronous=FULL)
#   langgraph-sqlite    LangGraph.js with its official SqliteSaver (WAL, synchronous=NORMAL)
#   sessions-pg         Sessions on PostgreSQL, one instance
#   sessions-pg-2       two Sessions instances sharing the database, each turn to the other instance than the last
#   sessions-pg-2-sticky  the same, each conversation staying on one instance (a load balancer with affinity)
#   langgraph-pg        LangGraph.js with its official PostgresSaver
#   dbos-pg             DBOS Transact (@dbos-inc/dbos-sdk): one durable workflow per run that does each turn's step,
#                       publishes the answer with setEvent and waits with recv; a reply is sent with send under an
#                       idempotency key
#   long-run            Sessions on SQLite: one run of LONG_TURNS (10,000) turns one after another; the median of the
#                       last 200 turns against turns 2 to 201, and the bytes each turn stored (bench/stored-bytes.py)
# For floor-pg-store, sessions-pg and dbos-pg, what the database holds afterwards (tables, indexes and TOAST, on disk)
# per turn stored.
# Writes bench/results/turn-path-<time>.jsonl and .md. Needs the PostgreSQL server `.ci/run` starts (or
# SESSIONS_BENCH_POSTGRES) for the PostgreSQL targets, and npm for the peer.
#   bash bench/run-suite.sh                      all targets, 10 s per level
#   TARGETS="floor-sqlite sessions-sqlite" SECONDS_PER_LEVEL=5 bash bench/run-suite.sh
#   SESSIONS_ROOT=/path/to/other/checkout bash bench/run-suite.sh    Sessions built from another checkout (A/B)
set -euo pipefail
cd "$(dirname "$0")/.."
sessions_root=$(cd "${SESSIONS_ROOT:-.}" && pwd)
targets=${TARGETS:-"floor-http floor-sqlite floor-sqlite-full floor-sqlite-group floor-sqlite-store floor-pg floor-pg-store floor-pg-2 sessions-sqlite langgraph-sqlite sessions-pg sessions-pg-2 sessions-pg-2-sticky langgraph-pg dbos-pg long-run"}
seconds=${SECONDS_PER_LEVEL:-10}
levels=${CONCURRENCY:-1,8,32}
server=${SESSIONS_BENCH_POSTGRES:-"Host=127.0.0.1;Port=5432;Username=sessions;Password=sessions;Database=sessions"}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
results="bench/results/turn-path-$stamp.jsonl"
work=$(mktemp -d)
pids=()

dotnet build "$sessions_root/src/Sessions.Api" -c Release -v quiet -nologo >/dev/null
dotnet build bench/TurnLoad -c Release -v quiet -nologo >/dev/null
dotnet build bench/Floor -c Release -v quiet -nologo >/dev/null
if [[ " $targets " == *" langgraph-"* ]]; then
  (cd bench/LangGraphPeer && { [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null; })
fi
if [[ " $targets " == *" dbos-pg "* ]]; then
  (cd bench/DbosPeer && { [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null; })
fi

pg() { sed -E "s/.*$1=([^;]*).*/\1/" <<<"$server"; }
export PGPASSWORD=$(pg Password)
psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -q -h "$(pg Host)" -p "$(pg Port)" -U "$(pg Username)" -d postgres "$@"; }
psql_db() { PGOPTIONS="-c client_min_messages=warning" psql -q -h "$(pg Host)" -p "$(pg Port)" -U "$(pg Username)" -d "$1" -tA "${@:2}"; }
fresh_database() {
  local name="sessions_bench_${1//-/_}_$stamp"
  psql_admin -c "DROP DATABASE IF EXISTS ${name,,} WITH (FORCE);" -c "CREATE DATABASE ${name,,};" >/dev/null
  echo "${name,,}"
}

stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_servers
  for db in $(psql_admin -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'sessions_bench_%_${stamp,,}'" 2>/dev/null); do
    # FORCE cannot end an autovacuum worker (not this role's) still in a database just written: wait for it to finish.
    for _ in 1 2 3 4 5 6 7 8 9 10; do psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE);" >/dev/null 2>&1 && break; sleep 1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

wait_alive() { for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$1/alive" >/dev/null && return 0; sleep 0.2; done; echo "port $1 never came up" >&2; return 1; }

# Sessions from its own folder, as deployed, so that it finds its appsettings.json.
start_sessions() { # port, then Key=value settings
  local port=$1; shift
  (cd "$sessions_root/src/Sessions.Api/bin/Release/net10.0" && exec env ${SESSIONS_ENV:-} "$@" Sessions__RateLimit__PermitsPerSecond=0 Logging__LogLevel__Default=Warning \
    dotnet Sessions.Api.dll --urls "http://127.0.0.1:$port" >"$work/server-$port.log" 2>&1) &
  pids+=($!)
}

upload_workflow() {
  curl -sf -X POST "http://127.0.0.1:$1/v1/workflows" -H 'Content-Type: application/json' -d '{
    "name": "Bench", "start": "ask_name", "nodes": [
      { "id": "ask_name", "type": "ask", "prompt": "Your name?", "variable": "name", "next": "ask_topic" },
      { "id": "ask_topic", "type": "ask", "prompt": "Hello {{name}}, what about?", "variable": "topic", "next": "thanks" },
      { "id": "thanks", "type": "say", "text": "Thanks {{name}}, noted: {{topic}}.", "next": "done" },
      { "id": "done", "type": "end", "output": "{{name}}: {{topic}}" } ] }' | sed -E 's/.*"workflow_id":"([^"]+)".*/\1/'
}

measure() { # label, workflow, urls (comma-separated), route (turn or conversation)
  local server_pids
  server_pids=$(IFS=,; echo "${pids[*]}")
  dotnet bench/TurnLoad/bin/Release/net10.0/TurnLoad.dll --target="$3" --workflow="$2" --label="$1" --route="${4:-turn}" \
    --concurrency="$levels" --seconds="$seconds" --warmup=2 --settle="${SETTLE_SECONDS:-30}" --pid="$server_pids" | tee -a "$results"
}

# What a database holds once a target has run (every table with its indexes and TOAST), per turn it stored.
stored_per_turn() { # label, database, SQL that counts the turns stored
  local bytes turns
  bytes=$(psql_db "$2" -c "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
  turns=$(psql_db "$2" -c "$3")
  echo "{\"target\":\"$1\",\"stored_bytes\":$bytes,\"turns_stored\":$turns,\"stored_bytes_per_turn\":$((bytes / turns))}" | tee -a "$work/stored.jsonl"
}

for target in $targets; do
  echo "== $target" >&2
  case $target in
    floor-http|floor-sqlite|floor-sqlite-full|floor-sqlite-group|floor-sqlite-store)
      args=(5401)
      [ "$target" = floor-sqlite ] && args+=("$work/floor.db" NORMAL)
      [ "$target" = floor-sqlite-full ] && args+=("$work/floor-full.db" FULL)
      [ "$target" = floor-sqlite-group ] && args+=("$work/floor-group.db" FULL-GROUP)
      [ "$target" = floor-sqlite-store ] && args+=("$work/floor-store.db" SESSIONS-STORE)
      dotnet bench/Floor/bin/Release/net10.0/Floor.dll "${args[@]}" >"$work/floor.log" 2>&1 &
      pids+=($!)
      wait_alive 5401
      measure "$target" bench "http://127.0.0.1:5401"
      ;;
    floor-pg|floor-pg-2|floor-pg-store)
      db=$(fresh_database "$target")
      urls="http://127.0.0.1:5401"
      for port in 5401 $([ "$target" = floor-pg-2 ] && echo 5408); do
        dotnet bench/Floor/bin/Release/net10.0/Floor.dll "$port" postgres "Host=$(pg Host);Port=$(pg Port);Username=$(pg Username);Password=$PGPASSWORD;Database=$db;SSL Mode=Disable" \
          $([ "$target" = floor-pg-store ] && echo SESSIONS-STORE) >"$work/floor-$port.log" 2>&1 &
        pids+=($!)
        wait_alive "$port"
      done
      [ "$target" = floor-pg-2 ] && urls+=",http://127.0.0.1:5408"
      measure "$target" bench "$urls"
      [ "$target" = floor-pg-store ] && stored_per_turn "$target" "$db" "SELECT count(*) FROM run_turns"
      ;;
    sessions-sqlite)
      start_sessions 5402 Sessions__Store=sqlite Sessions__Sqlite__Path="$work/sessions.db"
      wait_alive 5402
      measure "$target" "$(upload_workflow 5402)" "http://127.0.0.1:5402"
      ;;
    sessions-pg|sessions-pg-2|sessions-pg-2-sticky)
      db=$(fresh_database "$target")
      # Without TLS, like the peer's node-postgres client, so that both pay for the same transport on loopback
      # (Npgsql's default, SSL Mode=Prefer, encrypts whenever the server offers it, as Debian's does).
      connection="Host=$(pg Host);Port=$(pg Port);Username=$(pg Username);Password=$PGPASSWORD;Database=$db;SSL Mode=Disable"
      start_sessions 5403 Sessions__Store=postgres Sessions__Postgres__ConnectionString="$connection"
      urls="http://127.0.0.1:5403"
      wait_alive 5403
      if [ "$target" != sessions-pg ]; then
        start_sessions 5404 Sessions__Store=postgres Sessions__Postgres__ConnectionString="$connection"
        wait_alive 5404
        urls+=",http://127.0.0.1:5404"
      fi
      measure "$target" "$(upload_workflow 5403)" "$urls" "$([ "$target" = sessions-pg-2-sticky ] && echo conversation || echo turn)"
      [ "$target" = sessions-pg ] && stored_per_turn "$target" "$db" "SELECT count(*) FROM run_turns"
      ;;
    langgraph-sqlite)
      node bench/LangGraphPeer/server.mjs 5405 sqlite "$work/langgraph.db" >"$work/langgraph.log" 2>&1 &
      pids+=($!)
      wait_alive 5405
      measure "$target" bench "http://127.0.0.1:5405"
      ;;
    langgraph-pg)
      db=$(fresh_database "$target")
      node bench/LangGraphPeer/server.mjs 5406 postgres "postgresql://$(pg Username):$PGPASSWORD@$(pg Host):$(pg Port)/$db" >"$work/langgraph.log" 2>&1 &
      pids+=($!)
      wait_alive 5406
      measure "$target" bench "http://127.0.0.1:5406"
      ;;
    dbos-pg)
      db=$(fresh_database "$target")
      node bench/DbosPeer/server.mjs 5409 "postgresql://$(pg Username):$PGPASSWORD@$(pg Host):$(pg Port)/$db" >"$work/dbos.log" 2>&1 &
      pids+=($!)
      wait_alive 5409
      measure "$target" bench "http://127.0.0.1:5409"
      stored_per_turn "$target" "$db" "SELECT count(*) FROM dbos.workflow_events"
      ;;
    long-run)
      start_sessions 5407 Sessions__Store=sqlite Sessions__Sqlite__Path="$work/long.db"
      wait_alive 5407
      workflow=$(curl -sf -X POST "http://127.0.0.1:5407/v1/workflows" -H 'Content-Type: application/json' -d '{
        "name": "Long run", "start": "ask", "variables": { "n": 0 }, "nodes": [
          { "id": "ask", "type": "ask", "prompt": "Message {{n}}?", "variable": "message", "next": "count" },
          { "id": "count", "type": "set", "assign": { "n": "{{add n 1}}" }, "next": "say" },
          { "id": "say", "type": "say", "text": "Got {{message}}", "next": "ask" } ] }' | sed -E 's/.*"workflow_id":"([^"]+)".*/\1/')
      line=$(dotnet bench/TurnLoad/bin/Release/net10.0/TurnLoad.dll --target=http://127.0.0.1:5407 --workflow="$workflow" --label=long-run --long="${LONG_TURNS:-10000}")
      run_id=$(sed -E 's/.*"run_id":"([^"]+)".*/\1/' <<<"$line")
      echo "$line" | tee -a "$work/long.jsonl"
      python3 bench/stored-bytes.py "$work/long.db" "$run_id" | tee -a "$work/long.jsonl"
      ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  stop_servers
done

[ -s "$results" ] && dotnet bench/TurnLoad/bin/Release/net10.0/TurnLoad.dll --table="$results" > "${results%.jsonl}.md"
if [ -s "$work/stored.jsonl" ]; then
  { echo; echo "Stored on PostgreSQL (tables, indexes and TOAST on disk, per turn stored):"; echo; sed 's/^/    /' "$work/stored.jsonl"; } >> "${results%.jsonl}.md"
  cat "$work/stored.jsonl" >> "$results"
fi
if [ -s "$work/long.jsonl" ]; then
  { echo; echo "Long run and storage (Sessions on SQLite):"; echo; sed 's/^/    /' "$work/long.jsonl"; } >> "${results%.jsonl}.md"
  cat "$work/long.jsonl" >> "$results"
fi
cat "${results%.jsonl}.md"
