#!/usr/bin/env bash
# The services proxy's added latency (issue 24): the same AgentMail read at a fixed 200 calls/s,
# straight to the simulated provider and through /api/proxy/email/messages with the runtime's own
# credentials, interleaved in one run (direct, proxied, direct, proxied), fast profile (the
# provider answers at once: what is left is the proxy's own cost). Prints each beside the bound.
# Called by scripts/bench, or alone: bash scripts/bench.d/proxy.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone proxy
server=0
db=bench_proxy
command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/$db" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info LOG_FORMAT=json
export CONTROLLER_URL="http://127.0.0.1:$PORT"
# One agent makes every call: its read limit (600 a minute by default) is lifted for the measure.
PROXY_READS_PER_MINUTE=1000000 "$bin" serve --simulate >/tmp/convos-bench-proxy.log 2>&1 & server=$!
until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
sim=$(sim_url /tmp/convos-bench-proxy.log)
sed 's/minIdle: 3/minIdle: 1/' specs/01-pool.yaml | "$bin" apply -f - >/dev/null
"$bin" apply -f specs/02-templates.yaml >/dev/null
until [ "$(curl -fs "$CONTROLLER_URL/api/pool/counts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idle"])')" -ge 1 ]; do sleep 0.2; done
agent=$(curl -fs -H 'Content-Type: application/json' -d '{"templateId":"concierge","ownerId":"bench"}' "$CONTROLLER_URL/api/pool/claim" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent"])')
until [ "$(command psql "$DATABASE_URL" -qAt -c "SELECT status->>'phase' FROM pool.agents WHERE name = '$agent'")" = Ready ]; do sleep 0.2; done
instance=$(command psql "$DATABASE_URL" -qAt -c "SELECT instance_id FROM pool.instances WHERE agent = '$agent'")
token=$(command psql "$DATABASE_URL" -qAt -c "SELECT runtime_key FROM services.instances WHERE instance_id = '$instance'")
inbox=$(command psql "$DATABASE_URL" -qAt -c "SELECT external_id FROM services.tool_resources WHERE instance_id = '$instance' AND tool = 'email'")
simport=${sim##*:}
direct() { METHOD=GET HEADER="Authorization: Bearer account-key" python3 scripts/bench.d/fixed_rate.py 127.0.0.1 "$simport" "/agentmail/v0/inboxes/$inbox/messages" 200 15 '' 16; }
proxied() { METHOD=GET HEADER="Authorization: Bearer $instance:$token" python3 scripts/bench.d/fixed_rate.py 127.0.0.1 "$PORT" "/api/proxy/email/messages" 200 15 '' 16; }
d1=$(direct); p1=$(proxied); d2=$(direct); p2=$(proxied)
echo "AgentMail messages read direct at 200/s:        $d1"
echo "the same through the proxy:                    $p1"
echo "direct again:                                  $d2"
echo "through the proxy again:                       $p2"
python3 - "$d1" "$p1" "$d2" "$p2" <<'PY'
import re, sys
def p99(line): return float(re.search(r"p99 ([0-9.]+) ms", line).group(1))
def p50(line): return float(re.search(r"p50 ([0-9.]+) ms", line).group(1))
d1, p1, d2, p2 = sys.argv[1:5]
added = [p99(p1) - p99(d1), p99(p2) - p99(d2)]
print(f"the proxy adds p99 {added[0]:.2f} ms and {added[1]:.2f} ms (p50 {p50(p1) - p50(d1):.2f} and {p50(p2) - p50(d2):.2f} ms) at 200 calls/s; bound 5 ms")
PY
# The controller's own histogram of it (convos_proxy_added_seconds: the call's time less the provider's).
curl -fs "$CONTROLLER_URL/metrics" | python3 -c '
import re, sys
buckets = [(float(m.group(1)), int(m.group(2))) for m in re.finditer(r"convos_proxy_added_seconds_bucket\{route=\"email/messages\",le=\"([0-9.]+)\"\} (\d+)", sys.stdin.read())]
total = max(n for _, n in buckets) if buckets else 0
le = lambda q: next((b for b, n in sorted(buckets) if n >= q * total), float("inf"))
print(f"as the controller measures it (convos_proxy_added_seconds, {total} calls): p50 <= {le(0.5) * 1000:g} ms, p99 <= {le(0.99) * 1000:g} ms (bucket bounds)")'

