#!/usr/bin/env bash
# The dashboard against the issue's bound (issue 14): how long a spec applied with the CLI takes to
# show on an open page, with many agents listed, under the realistic profile. Called by
# scripts/bench, or alone: bash scripts/bench.d/page-latency.sh [AGENTS] [APPLIES].
# Needs $bin and $pgport, or makes them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
APT_PACKAGES="$APT_PACKAGES chromium chromium-driver"
bench_alone page
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS page" -c "CREATE DATABASE page"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/page" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warning
export CONTROLLER_URL="http://127.0.0.1:$PORT" CONTROLLER_API_TOKEN="bench-$RANDOM$RANDOM"
"$bin" serve --simulate --profile realistic >/tmp/convos-page.log 2>&1 & server=$!
until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
"$bin" apply -f specs/ >/dev/null
agents=${1:-500}
# Agents beyond what the pool can bind wait in the list, as a busy fleet's do.
for i in $(seq -w 1 "$agents"); do printf -- '---\napiVersion: agents.convos.org/v1\nkind: Agent\nmetadata: {name: listed-%s}\nspec: {template: concierge, owner: user-%s}\n' "$i" "$i"; done > /tmp/convos-page-agents.yaml
curl -fs -X POST -H "Authorization: Bearer $CONTROLLER_API_TOKEN" -H 'Content-Type: application/yaml' --data-binary @/tmp/convos-page-agents.yaml "$CONTROLLER_URL/v1/apply" >/dev/null
CONVOS_CONTROLLER_BIN="$bin" python3 scripts/bench.d/page_latency.py "$agents" "${2:-30}"
stop_server
