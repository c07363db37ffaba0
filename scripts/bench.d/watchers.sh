#!/usr/bin/env bash
# Watches at scale (issue 13): 200 watchers of agents for a minute while agents change, with the
# controller's memory and database connections beside their bounds. Called by scripts/bench, or
# alone: bash scripts/bench.d/watchers.sh [WATCHERS] [SECONDS]. Needs $bin and $pgport, or makes them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone watch
command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS watchers" -c "CREATE DATABASE watchers"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/watchers" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warning
export CONTROLLER_URL="http://127.0.0.1:$PORT"
"$bin" serve --simulate >/tmp/convos-watchers.log 2>&1 & server=$!
until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
"$bin" apply -f specs/ >/dev/null
sleep 5
python3 scripts/bench.d/watchers.py "$CONTROLLER_URL" "$server" "$DATABASE_URL" "${1:-200}" "${2:-60}"
stop_server
