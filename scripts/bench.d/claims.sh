#!/usr/bin/env bash
# Claim capacity and latency over HTTP, like for like with the physical limit (issue 26).
#
# One Postgres (durable defaults), measured in one run:
#   - the physical limit: pgbench, prepared, 16 clients, the minimal claim (one UPDATE of the oldest
#     idle row, FOR UPDATE SKIP LOCKED), with no controller running at all;
#   - the same with the HTTP claim's own statement, prepared (what the claim costs in SQL alone);
#   - HTTP: `serve --simulate` leading and reconciling as in production (its 5 s tick; every claimed
#     agent's runtime configured through the simulator), refill off (minIdle 0) so the pool is not
#     refilled in the window; a fixed 200 claims/s for 15 s from the settled fleet, then 16
#     keep-alive connections posting `?wait=0` claims for 10 s, then 200/s again right after that
#     burst. Every answer's status is counted; anything but 201 is printed.
# The idle instances are real simulated runtimes (seed_fleet.py), so configuring them is real work.
# Called by scripts/bench, or alone: bash scripts/bench.d/claims.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone claims
server=0
db=bench_claims
command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/$db" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info LOG_FORMAT=json
export CONTROLLER_URL="http://127.0.0.1:$PORT"
q() { command psql "$DATABASE_URL" -qAt "$@"; }
log=/tmp/convos-bench-claims.log
start_controller() {
    "$bin" serve --simulate >"$log" 2>&1 & server=$!
    until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
}
start_controller
seed_specs
sim=$(sim_url "$log")
stop_server

# --- the physical limit, and the claim's own SQL, with no controller running
# Rows pgbench takes: in the database only (no controller runs to look at them).
add_rows() {
    q -c "INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
          SELECT substr(md5(random()::text || g::text || clock_timestamp()::text), 1, 20), 'default', 'idle', '$digest', 'http://pgbench/' || g, now()
          FROM generate_series(1, $1) g"
}
# The machine's busy CPU time (every process: Postgres, the load's client, the controller), in
# clock ticks: what a claim costs in CPU, whoever spends it, is the difference over a run / claims.
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
cpu_ms() {  # cpu_ms TICKS RATE SECONDS: milliseconds of one core a claim
    python3 -c "import os; t, r, s = float('$1'), float('$2'), float('$3'); print(f'{t / os.sysconf(\"SC_CLK_TCK\") * 1000 / (r * s):.2f}' if r > 0 else 'n/a')"
}
pgb() {  # pgb FILE: sets pgb_rate (claims/s of FILE, prepared, 16 clients, 10 s) and pgb_cpu (ms of CPU a claim)
    local b0
    b0=$(busy)
    pgb_rate=$(as_postgres pgbench -h 127.0.0.1 -p "$pgport" -U postgres -n -M prepared -c 16 -j 2 -T 10 -f "$1" "$db" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    pgb_cpu=$(cpu_ms $(($(busy) - b0)) "$pgb_rate" 10)
}
add_rows 150000
pgb scripts/bench.d/claim.minimal.pgbench.sql; minimal=$pgb_rate minimal_cpu=$pgb_cpu
q -c "UPDATE pool.instances SET state = 'idle', last_error = NULL WHERE state = 'failed'"
q -c "VACUUM ANALYZE pool.instances" 2>/dev/null
sed "s/'concierge'/'plain'/g" scripts/bench.d/claim.pgbench.sql >/tmp/convos-bench-claim-plain.sql
pgb /tmp/convos-bench-claim-plain.sql; sqlonly=$pgb_rate sqlonly_cpu=$pgb_cpu
if [ "$(q -c "SELECT count(*) FROM pool.instances WHERE state = 'claimed'")" = 0 ]; then echo "the claim statement claimed nothing under pgbench" >&2; exit 1; fi
q -c "TRUNCATE pool.instances, pool.agents, pool.events, pool.dirty CASCADE" -c "VACUUM ANALYZE"
echo "physical limit: the minimal claim (one UPDATE ... FOR UPDATE SKIP LOCKED), pgbench prepared, 16 clients: ${minimal}/s; machine CPU ${minimal_cpu} ms a claim"
echo "the HTTP claim's statement through pgbench, prepared, 16 clients: ${sqlonly}/s; machine CPU ${sqlonly_cpu} ms a claim"

# --- HTTP, the reconciler on
start_controller
sim=$(sim_url "$log")
# This controller's simulated registry gives the pool's image a digest of its own: the fleet is
# seeded on it (on the first one's, every claimed agent was behind its pool, and a rollout upgraded
# thousands of them while claims were measured).
first=$digest
until digest=$(q -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'"); [ -n "$digest" ] && [ "$digest" != "$first" ]; do sleep 0.5; done
seeded=$(SEED_HOLD=1 python3 scripts/bench.d/seed_fleet.py "$sim" "$DATABASE_URL" "${CLAIMS_FLEET:-40000}" "$digest" idle)
q -c "VACUUM ANALYZE" 2>/dev/null
# Until a tick has looked at them all.
until [ "$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["pools"]["default"]["idle"] if s.get("isLeader") else 0)' 2>/dev/null || echo 0)" -ge "$seeded" ]; do sleep 0.5; done
# Then until a tick asks about fewer than 1% of them: the first ask of the new instances (each one
# pinged, tens of seconds at 40,000) is over, as in a fleet that has run a while (up to 15 minutes).
wait_settled "$seeded"
echo "the fleet settled $settled s after the rows were seen (a tick asking < 1% of it)"
sleep 6  # a quiet tick or two
# The steady rate first, from the settled fleet; then the capacity burst; then the same rate again,
# beside the burst's aftermath (the ticks that configure its thousands of claims): reported apart.
echo "claims at a fixed 200/s for 15 s from a settled fleet, the reconciler on: $(python3 scripts/bench.d/fixed_rate.py 127.0.0.1 $PORT '/api/pool/claim?wait=0' 200 15 '{"templateId":"plain","ownerId":"bench"}' 16) (bound p99 <= 15 ms)"
wait_settled "$seeded"
sleep 6
cpu0=$(awk '{print $14 + $15}' /proc/$server/stat); b0=$(busy)
# CLAIMS_PERF=1: a CPU profile of the controller over the claims (perf report -i /tmp/convos-claims.perf).
if [ "${CLAIMS_PERF:-0}" = 1 ]; then perf record -F 499 -g -p $server -o /tmp/convos-claims.perf -- sleep 10 >/dev/null 2>&1 & fi
sed 's/concierge/plain/' scripts/bench.d/claim.lua >/tmp/convos-bench-claim-plain.lua
out=$(wrk -t2 -c16 -d10s -s /tmp/convos-bench-claim-plain.lua "$CONTROLLER_URL/api/pool/claim?wait=0")
cpu1=$(awk '{print $14 + $15}' /proc/$server/stat); b1=$(busy)
http=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out"); bad=${bad:-0}
errors=$(awk '/Socket errors/ {print}' <<<"$out")
claimed=$(q -c "SELECT count(*) FROM pool.instances WHERE state = 'claimed'")
configured=$(q -c "SELECT count(*) FROM pool.instances WHERE state = 'claimed' AND conversation_id IS NOT NULL")
echo "HTTP claims, 16 keep-alive connections, 10 s, the reconciler on: ${http}/s; answers other than 2xx: $bad${errors:+; $errors}; rows claimed $claimed, configured by the end $configured; controller CPU $(python3 -c "import os; print(f'{($cpu1 - $cpu0) / os.sysconf(\"SC_CLK_TCK\") / 10 * 100:.0f}%')") of one core; machine CPU $(cpu_ms $((b1 - b0)) "$http" 10) ms a claim"
python3 -c "h, m = float('$http'), float('$minimal'); print(f'HTTP claims reach {100 * h / m:.0f}% of the physical limit (bound >= 50%)')"
echo "claims at a fixed 200/s for 15 s right after the burst, the reconciler configuring it: $(python3 scripts/bench.d/fixed_rate.py 127.0.0.1 $PORT '/api/pool/claim?wait=0' 200 15 '{"templateId":"plain","ownerId":"bench"}' 16) (reported)"
