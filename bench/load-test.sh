#!/usr/bin/env bash
# The bounded load test: two Release server instances on loopback sharing one PostgreSQL database (a fresh one,
# dropped afterwards), 200 concurrent conversations of 10 turns each. Needs the PostgreSQL server that `.ci/run`
# installs and starts (or set SESSIONS_BENCH_POSTGRES to a connection string whose role may create databases).
set -euo pipefail
cd "$(dirname "$0")/.."
conversations=${CONVERSATIONS:-200}
turns=${TURNS:-10}
server=${SESSIONS_BENCH_POSTGRES:-"Host=127.0.0.1;Port=5432;Username=sessions;Password=sessions;Database=sessions"}
database="sessions_load_$(date +%s)"
logs=$(mktemp -d)

dotnet build src/Sessions.Api -c Release -v quiet -nologo >/dev/null
dotnet build bench/LoadTest -c Release -v quiet -nologo >/dev/null

export PGPASSWORD=$(sed -E 's/.*Password=([^;]*).*/\1/' <<<"$server")
pg_host=$(sed -E 's/.*Host=([^;]*).*/\1/' <<<"$server")
pg_port=$(sed -E 's/.*Port=([^;]*).*/\1/' <<<"$server")
pg_user=$(sed -E 's/.*Username=([^;]*).*/\1/' <<<"$server")
psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE $database;"
connection="Host=$pg_host;Port=$pg_port;Username=$pg_user;Password=$PGPASSWORD;Database=$database"

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE);" || true
  rm -rf "$logs"
}
trap cleanup EXIT

targets=()
for port in 5181 5182; do
  # From its own folder, as deployed, so that it finds its appsettings.json and samples.
  (cd src/Sessions.Api/bin/Release/net10.0 && Sessions__Store=postgres Sessions__Postgres__ConnectionString="$connection" \
    Sessions__RateLimit__PermitsPerSecond=0 Sessions__Postgres__MaxPoolSize=${POOL:-20} Logging__LogLevel__Default=Warning \
    exec dotnet Sessions.Api.dll --urls "http://127.0.0.1:$port" >"$logs/server-$port.log" 2>&1) &
  pids+=($!)
  targets+=("http://127.0.0.1:$port")
done
for port in 5181 5182; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/alive" >/dev/null && break; sleep 0.2; done
done

dotnet bench/LoadTest/bin/Release/net10.0/LoadTest.dll "$(IFS=,; echo "${targets[*]}")" "$conversations" "$turns"
