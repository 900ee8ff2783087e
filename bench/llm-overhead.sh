#!/usr/bin/env bash
# What a turn with one LLM call adds over the model's own latency: a loopback OpenAI-compatible server on 127.0.0.1:8089
# (where the shipped "default" configuration points), a Release server on a fresh database, TURNS sequential turns.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-5091}
turns=${TURNS:-300}
data=$(mktemp -d)
dotnet build src/Sessions.Api -c Release -v quiet -nologo >/dev/null
dotnet build bench/LlmOverhead -c Release -v quiet -nologo >/dev/null
dotnet bench/LlmOverhead/bin/Release/net10.0/LlmOverhead.dll serve 8089 >"$data/model.log" 2>&1 &
model=$!
(cd src/Sessions.Api/bin/Release/net10.0 && Sessions__Sqlite__Path="$data/sessions.db" Sessions__RateLimit__PermitsPerSecond=0 Logging__LogLevel__Default=Warning \
  dotnet Sessions.Api.dll --urls "http://127.0.0.1:$port" >"$data/server.log" 2>&1) &
server=$!
trap 'kill $server $model 2>/dev/null; pkill -f "Sessions.Api.dll --urls http://127.0.0.1:$port" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/alive" >/dev/null && break; sleep 0.2; done
dotnet bench/LlmOverhead/bin/Release/net10.0/LlmOverhead.dll measure "http://127.0.0.1:$port" "$turns"
