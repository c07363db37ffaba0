#!/usr/bin/env bash
# Fleet scale (issue 26): for each size, a fleet seeded straight into the simulator and the database
# (seed_fleet.py: 80% claimed agents with a conversation, 20% idle; building it through Railway's
# pace would take days), then `serve` leading as in production against `simulate --profile
# realistic` running as its own process, so the controller's memory is its own
# (5 s tick; webhooks on, as deployed with PUBLIC_URL: the simulator posts deployment events to the
# controller; RESYNC_INTERVAL 10 minutes, its default, stretched by the listing's pages an hour). After
# the first ticks (a whole read, and the resync every leader starts with), SCALE_WINDOW seconds (180) of quiet ticks are
# sampled from /status, and Railway's requests in them counted by the simulator; an hour's are
# those at that pace plus the listings of the fleet an hour (100 projects a page, at the resync
# interval /status reports). Prints each figure
# beside its bound.
# Called by scripts/bench, or alone: bash scripts/bench.d/scale.sh [SIZE...]   (default 1000 10000 50000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone scale
server=0 simulator=0
trap 'stop_server; stop_simulator; bench_exit' EXIT
sizes=${*:-1000 10000 50000}
for size in $sizes; do
    db=bench_scale_$size
    command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/$db" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info LOG_FORMAT=json
    export CONTROLLER_URL="http://127.0.0.1:$PORT" PUBLIC_URL="http://127.0.0.1:$PORT"
    q() { command psql "$DATABASE_URL" -qAt "$@"; }
    log=/tmp/convos-bench-scale-$size.log
    serve_beside_simulator realistic "$log"
    seed_specs
    python3 scripts/bench.d/seed_fleet.py "$sim" "$DATABASE_URL" $((size * 4 / 5)) "$digest" claimed >/dev/null
    SEED_HOLD=1 python3 scripts/bench.d/seed_fleet.py "$sim" "$DATABASE_URL" $((size / 5)) "$digest" idle >/dev/null
    q -c "VACUUM ANALYZE" 2>/dev/null
    # A new term over the seeded fleet, as a controller restarted (a deploy) over a fleet that has
    # run a while: its first read and its first listing at Railway hold the whole fleet.
    stop_server
    serve_against_simulator "$log"
    # The first tick after the seed reads and plans the whole fleet; then the steady state.
    until [ "$(q -c "SELECT count(*) FROM pool.agents WHERE status->>'phase' = 'Ready'")" -ge $((size * 4 / 5)) ]; do
        kill -0 $server 2>/dev/null || { echo "the controller stopped; its log: $log" >&2; exit 1; }
        sleep 1
    done
    # The first resync's checks (each runtime asked for its conversation) done: the steady state.
    until [ "$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queueDepth"])')" -lt 5 ]; do sleep 1; done
    # Then the first tick that asked about fewer than 1% of the fleet: the wave of whole-fleet ticks
    # after a new term (its resync, the rows it rewrites) has passed. Up to 15 minutes; how long it
    # took is printed.
    t0=$(date +%s)
    wait_settled "$size"
    # The term's first listing at Railway done (at 50,000, 500 pages: minutes), and the ticks after it
    # quiet again: its pages and the audit it starts are the term's start, not the steady state.
    until [ "$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["railway"].get("lastResync") is not None)')" = True ]; do sleep 2; done
    until [ "$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queueDepth"])')" -lt 5 ]; do sleep 1; done
    wait_settled "$size"
    settled=$(( $(date +%s) - t0 ))
    sleep 10
    before=$(curl -fs "$sim/_sim/stats")
    dbbefore=$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["database"]))')
    window=${SCALE_WINDOW:-180}   # long enough that p99 is a percentile, not the one slowest tick
    # SCALE_PERF=1: a CPU profile of the controller over the window (perf report -i /tmp/convos-scale-SIZE.perf).
    if [ "${SCALE_PERF:-0}" = 1 ]; then perf record -F 199 -g -p $server -o /tmp/convos-scale-$size.perf -- sleep $((window - 10)) >/dev/null 2>&1 & fi
    samples=$(for _ in $(seq 1 $((window * 2))); do curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; t=json.load(sys.stdin)["lastTick"]; print(t["count"], t["durationMs"], json.dumps(t.get("phasesMs", {}), separators=(",", ":")))'; sleep 0.5; done)
    after=$(curl -fs "$sim/_sim/stats")
    dbafter=$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["database"]))')
    interval=$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["railway"]["resyncIntervalSeconds"])')
    rss=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
    simrss=$(awk '/VmRSS/ {print $2}' /proc/$simulator/status)
    resyncs=$(grep -c '"action":"auditTools".*"action done"' "$log" || true)
    python3 - "$size" "$before" "$after" "$rss" "$simrss" "$settled" "$interval" "$dbbefore" "$dbafter" "$window" <<PY
import json, sys
size, before, after, rss, simrss = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4]) / 1024, int(sys.argv[5]) / 1024
settled, interval = int(sys.argv[6]), float(sys.argv[7])
db0, db1 = json.loads(sys.argv[8]), json.loads(sys.argv[9])
window = int(sys.argv[10])
seen, phases = {}, {}
for line in """$samples""".splitlines():
    c, d, ph = line.split(" ", 2); seen[int(c)] = float(d); phases[int(c)] = json.loads(ph)
d = sorted(seen.values())
p = lambda q: d[min(len(d) - 1, int(q * len(d)))]
railway = after["railwayTotal"] - before["railwayTotal"]
slowest = max(seen, key=seen.get)
median = sorted(seen, key=seen.get)[len(seen) // 2]
print(f"  phases (ms) of the median tick: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(phases[median].items()))
      + "; of the slowest: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(phases[slowest].items())))
# A query that Postgres never saw as slow waited for a connection here, or for a core.
print(f"  connection checkouts in the window {db1['checkouts'] - db0['checkouts']:,}, of which {db1['checkoutWaits'] - db0['checkoutWaits']} waited for a connection "
      f"({db1['checkoutWaitedMs'] - db0['checkoutWaitedMs']:.1f} ms in all; the longest since start {db1['longestCheckoutWaitMs']:.1f} ms)")
listings = 3600 / interval
hourly = round(railway * 3600 / window + listings * ((size + 99) // 100))
print(f"fleet of {size:,} ({size * 4 // 5:,} claimed agents, {size // 5:,} idle): settled (its first listing done, then a tick asking < 1% of the fleet) {settled} s "
      f"after the queue emptied{' (not settled: gave up at 900 s)' if settled > 900 else ''}; quiet ticks sampled {len(d)} over {window} s: "
      f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {d[-1]:.1f} ms (bound at 50,000: p99 <= 20 ms); controller memory (its own process) "
      f"{rss:.0f} MiB (bound 256 MiB; the simulated cloud's process {simrss:.0f} MiB); Railway requests in the window {railway}, webhooks on, so {hourly:,} an hour with {listings:g} listings of the fleet (every {interval / 60:g} min) (bound 1,000 with webhooks)")
PY
    stop_server
    stop_simulator
done
