#!/usr/bin/env bash
# Provider limits at fleet scale (issue 11), each figure beside its bound. Called by scripts/bench
# after its own figures, or alone: bash scripts/bench.d/limits.sh [claims|fill|requests|prefill].
# Needs: $bin (a release build), $pgdir/$pgport (a running Postgres). Each part starts its own
# `serve --simulate` on a database of its own.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone limits
only=${1:-all}
# Production's tick and resync unless a part says otherwise: a caller's setting (the main bench
# ticks every 200 ms) must not leak into these figures.
unset RECONCILE_INTERVAL RESYNC_INTERVAL
server=0

# start_server DB [serve flags...]: a fresh database and a controller on it, simulated cloud in process.
start_server() {
    local db=$1; shift
    command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/$db" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info LOG_FORMAT=json
    export CONTROLLER_URL="http://127.0.0.1:$PORT"
    "$bin" serve --simulate "$@" >/tmp/convos-limits-$db.log 2>&1 & server=$!
    until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
    sim=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: o = json.loads(l)
    except ValueError: continue
    if o.get("msg") == "simulated cloud started": print(o["url"]); break' /tmp/convos-limits-$db.log)
}
q() { command psql "$DATABASE_URL" -qAt "$@"; }
# The idle count; stops the script when the server died (its log says why).
idle() {
    kill -0 $server 2>/dev/null || { echo "the controller stopped; its log: /tmp/convos-limits-*.log" >&2; exit 1; }
    q -c "SELECT count(*) FROM pool.instances WHERE state = 'idle'"
}
deployments() { curl -fs "$sim/_sim/ledger" | python3 -c 'import json,sys; print(sum(d["deployments"] for d in json.load(sys.stdin)["deployments"]))'; }
pool() { sed "s/minIdle: 3/minIdle: $1/; s/maxInstances: 50/maxInstances: $2/" specs/01-pool.yaml | "$bin" apply -f - >/dev/null; }

if [ "$only" = all ] || [ "$only" = claims ]; then
    # Many tokens only to fill the warm pool quickly; the claim path makes no project. Numbers are
    # stocked ahead as a warm pool's are (TELNYX_SPARE_NUMBERS), so a claim's SMS is taken, not ordered.
    TELNYX_SPARE_NUMBERS=60 start_server limits_claims --profile realistic --railway-tokens 60
    "$bin" apply -f specs/02-templates.yaml >/dev/null
    pool 55 200
    stocked() { q -c "SELECT count(*) FROM services.phone_numbers WHERE state = 'available'"; }
    until [ "$(idle)" -ge 55 ] && [ "$(stocked)" -ge 55 ]; do sleep 1; done
    before=$(deployments)
    echo "realistic, claim to invite and to tools usable, 1 at a time (10): $(python3 scripts/bench.d/claim_ready.py "$CONTROLLER_URL" concierge 10 1); bounds: invite p99 <= 4 s, tools p99 <= 4 s"
    until [ "$(idle)" -ge 50 ] && [ "$(stocked)" -ge 50 ]; do sleep 1; done
    echo "realistic, claim to invite and to tools usable, 50 at once: $(python3 scripts/bench.d/claim_ready.py "$CONTROLLER_URL" concierge 50 50); bounds: invite p99 <= 4 s, tools p99 <= 4 s"
    claimed=$(q -c "SELECT count(*) FROM pool.instances WHERE state = 'claimed'")
    # Refills of the pool deploy once each; the claimed instances must not have deployed again.
    extra=$(curl -fs "$sim/_sim/ledger" | python3 -c 'import json,sys; print(sum(max(0, d["deployments"] - 1) for d in json.load(sys.stdin)["deployments"]))')
    echo "deployments on the claim path: $extra for $claimed claimed agents (bound 0); deployments in all: $before before the claims, $(deployments) after (refills)"
    stop_server
fi

if [ "$only" = all ] || [ "$only" = fill ]; then
    start_server limits_fill --profile realistic --railway-tokens 3
    started=$(date +%s.%N)
    pool 20 50
    until [ "$(idle)" -ge 20 ]; do sleep 1; done
    took=$(python3 -c "import time; print(f'{time.time() - $started:.0f}')")
    failed=$(q -c "SELECT count(*) FROM pool.events WHERE reason IN ('NotReadyInTime', 'DeployFailed', 'TornDown')")
    projects=$(curl -fs "$sim/_sim/ledger" | python3 -c 'import json,sys; r=[x["name"] for x in json.load(sys.stdin)["resources"] if x["kind"] == "project"]; print(len(r), len(r) - len(set(r)))')
    refused=$(curl -fs "$sim/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["railwayRequests"].get("ProjectCreate", 0))')
    bound=$(python3 -c "import math; print(math.ceil(20/3) * 30 + 25 + 30)")
    echo "realistic, minIdle 20 with 3 tokens: ${took} s to 20 idle; bound 1.2 x ${bound} s = $(python3 -c "print(round(1.2*$bound))") s (per-token pace 20/3 x 30 s, deploy 25 s, boot 30 s); instances failed or replaced: $failed; projects $projects (made, made twice); projectCreate requests: $refused"
    stop_server
    start_server limits_fill1 --profile realistic --railway-tokens 1
    pool 4 50
    until curl -fs "$CONTROLLER_URL/v1/pools/default" | grep -q ProviderQuota; do sleep 1; done
    echo "realistic, one token: $(curl -fs "$CONTROLLER_URL/v1/pools/default" | python3 -c 'import json,sys
c = [c for c in json.load(sys.stdin)["status"]["conditions"] if c["type"] == "Progressing"][0]
print("Progressing=" + c["status"], c["reason"] + ":", c["message"][:110])')"
    stop_server
fi

if [ "$only" = all ] || [ "$only" = requests ]; then
    # A fleet in steady state, made at once in the simulator and in the database (settled
    # deployments, runtimes not pinged), then Railway's requests counted over a window.
    measure_requests() {  # measure_requests N DBSUFFIX LABEL
        local n=$1 suffix=$2 label=$3
        RESYNC_INTERVAL=20s start_server "limits_req_$n$suffix" "--profile" "realistic"
        pool 0 10000
        until [ -n "$(q -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'")" ]; do sleep 0.2; done
        python3 - "$sim" "$DATABASE_URL" "$n" <<'PY'
import json, subprocess, sys, urllib.request, uuid
sim, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = [uuid.uuid4().hex[:20] for _ in range(n)]
rows = []
for i in range(0, n, 1000):
    names = ["convos-agent-" + x for x in ids[i:i + 1000]]
    req = urllib.request.Request(sim + "/_sim/railway/bulk", data=json.dumps({"names": names}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    rows += json.load(urllib.request.urlopen(req, timeout=120))
sql = ["\\set ON_ERROR_STOP on", "BEGIN;"]
for r in rows:
    i = r["name"][len("convos-agent-"):]
    sql.append(f"INSERT INTO services.instances (instance_id, railway_project_id, railway_environment_id, railway_service_id, state, deploy_status, deployed_at) VALUES ('{i}', '{r['projectId']}', '{r['environmentId']}', '{r['serviceId']}', 'ready', 'SUCCESS', now());")
sql.append("INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at) SELECT instance_id, 'default', 'idle', (SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'), 'http://bench/' || instance_id, now() FROM services.instances;")
sql.append("UPDATE pool.pools SET spec = jsonb_set(spec, '{minIdle}', to_jsonb((SELECT count(*) FROM pool.instances)::int));")
sql.append("COMMIT;")
subprocess.run(["psql", db, "-qAt"], input="\n".join(sql), text=True, check=True)
PY
        sleep 5
        local a b resyncs
        a=$(curl -fs "$sim/_sim/stats")
        # Resyncs seen in the window: distinct lastResync times in /status.
        resyncs=$(for _ in $(seq 1 60); do curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["railway"]["lastResync"])'; sleep 1; done | sort -u | wc -l)
        b=$(curl -fs "$sim/_sim/stats")
        python3 - "$a" "$b" "$n" "$label" "$resyncs" <<'PY'
import json, sys
a, b, n, label, resyncs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ops = set(a["railwayRequests"]) | set(b["railwayRequests"])
delta = {o: b["railwayRequests"].get(o, 0) - a["railwayRequests"].get(o, 0) for o in ops}
pages = delta.get("Projects", 0)
other = sum(v for o, v in delta.items() if o != "Projects")
per_resync = pages / max(1, resyncs - 1)
hour = other * 60 + per_resync * 6   # RESYNC_INTERVAL 10 minutes: 6 resyncs an hour
print(f"{n} instances{label}: {per_resync:.0f} requests per resync (measured over {resyncs - 1}), {other} other requests in 60 s; "
      f"per hour at RESYNC_INTERVAL=10m: {hour:.0f} (bound 1,000; Pro quota 10,000), of which not resync {other * 60}")
PY
        stop_server
    }
    measure_requests 1000 "" ""
    measure_requests 10000 "" ""
    PUBLIC_URL=http://127.0.0.1:0 measure_requests 1000 _webhooks ", webhooks"
    PUBLIC_URL=http://127.0.0.1:0 measure_requests 10000 _webhooks ", webhooks"
fi

if [ "$only" = all ] || [ "$only" = prefill ]; then
    RECONCILE_INTERVAL=200ms start_server limits_prefill
    pool 1000 1000
    python3 - "$DATABASE_URL" <<'PY'
import subprocess, sys, time
db = sys.argv[1]
def idle():
    return int(subprocess.run(["psql", db, "-qAt", "-c", "SELECT count(*) FROM pool.instances WHERE state = 'idle'"], capture_output=True, text=True).stdout)
start, marks = time.time(), {}
while True:
    n = idle()
    for m in (100, 200, 900, 1000):
        if n >= m and m not in marks: marks[m] = time.time() - start
    if n >= 1000 or time.time() - start > 1800: break
    time.sleep(0.5)
first = 100 / (marks[200] - marks[100]) if 200 in marks and 100 in marks else float("nan")
last = 100 / (marks[1000] - marks[900]) if 1000 in marks and 900 in marks else float("nan")
print(f"prefill of 1,000, fast profile: {marks.get(1000, float('nan')):.0f} s in all; {first:.1f} instances/s from 100 to 200 idle, "
      f"{last:.1f}/s from 900 to 1,000: {100 * last / first:.0f}% (bound >= 80%)")
PY
    stop_server
fi
