#!/usr/bin/env bash
# Starts a Release server on a fresh database, runs 1,000 sequential turns through HTTP, prints median/p90/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-5090}
turns=${TURNS:-1000}
data=$(mktemp -d)
dotnet build src/Sessions.Api -c Release -v quiet -nologo >/dev/null
dotnet build bench/TurnLatency -c Release -v quiet -nologo >/dev/null
# From its own folder, as deployed, so that it finds its appsettings.json and samples.
(cd src/Sessions.Api/bin/Release/net10.0 && Sessions__Sqlite__Path="$data/sessions.db" Sessions__RateLimit__PermitsPerSecond=0 Logging__LogLevel__Default=Warning \
  exec dotnet Sessions.Api.dll --urls "http://127.0.0.1:$port" >"$data/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/alive" >/dev/null && break; sleep 0.2; done
dotnet bench/TurnLatency/bin/Release/net10.0/TurnLatency.dll "http://127.0.0.1:$port" "$turns"
