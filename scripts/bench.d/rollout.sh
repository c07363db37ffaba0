#!/usr/bin/env bash
# A rollout of a new runtime to 1,000 claimed agents (issue 25), under the realistic profile with
# 3 Railway tokens: deploys 25 s, runtimes ready 30 s later (one upgrade is about 55 s), Railway's
# hourly quota per token. The fleet is made at once in the simulator and the database (creation
# pacing is not what is measured here): each agent's service runs the pool's digest with a /data
# volume, its own GATEWAY_TOKEN and a conversation. Then the tag moves and `maxUnavailable: 10%`
# rolls it. Prints the time to Complete beside the bound, Railway's 429s, conversations lost, and
# the controller's CPU and memory during the rollout.
# Called by scripts/bench, or alone: bash scripts/bench.d/rollout.sh [COUNT]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
bench_alone rollout
count=${1:-1000}
server=0
db=bench_rollout
command psql "postgresql://postgres@127.0.0.1:$pgport/postgres" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/$db" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info LOG_FORMAT=json
export CONTROLLER_URL="http://127.0.0.1:$PORT"
"$bin" serve --simulate --profile realistic --railway-tokens 3 >/tmp/convos-bench-rollout.log 2>&1 & server=$!
until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
sim=$(sim_url /tmp/convos-bench-rollout.log)
"$bin" apply -f - >/dev/null <<'YAML'
apiVersion: agents.convos.org/v1
kind: Pool
metadata: {name: default}
spec: {minIdle: 0, maxInstances: 2000, image: "ghcr.io/xmtplabs/convos-runtime:production", rollout: {maxUnavailable: 10%}}
---
apiVersion: agents.convos.org/v1
kind: AgentTemplate
metadata: {name: plain}
spec: {agentName: Plain, instructions: "Be plain."}
YAML
q() { command psql "$DATABASE_URL" -qAt "$@"; }
until [ -n "$(q -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'")" ]; do sleep 0.2; done
digest=$(q -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'")

# The claimed fleet, at once: services in the simulator, their rows in both schemas.
python3 - "$sim" "$DATABASE_URL" "$count" "$digest" <<'PY'
import json, subprocess, sys, urllib.request, uuid
sim, db, n, digest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
image = "ghcr.io/xmtplabs/convos-runtime@" + digest
ids = [uuid.uuid4().hex[:20] for _ in range(n)]
rows = []
for i in range(0, n, 500):
    body = json.dumps({"names": ["convos-agent-" + x for x in ids[i:i + 500]], "image": image}).encode()
    req = urllib.request.Request(sim + "/_sim/railway/bulk", data=body, method="POST", headers={"Content-Type": "application/json"})
    rows += json.load(urllib.request.urlopen(req, timeout=120))
config = json.dumps({"agentName": "Plain", "instructions": "Be plain.", "model": None})
sql = ["\\set ON_ERROR_STOP on", "BEGIN;"]
for k, r in enumerate(rows):
    i = r["name"][len("convos-agent-"):]
    url = sim + "/runtime/" + r["serviceId"]
    agent = f"agent-{k:05d}"
    sql.append(f"INSERT INTO services.instances (instance_id, railway_project_id, railway_environment_id, railway_service_id, url, image, state, "
               f"deploy_status, deployed_at, configured_at, variables_checked_at, runtime_key) VALUES ('{i}', '{r['projectId']}', '{r['environmentId']}', "
               f"'{r['serviceId']}', '{url}', '{image}', 'ready', 'SUCCESS', now(), now(), now(), '{r['gatewayToken']}');")
    sql.append(f"INSERT INTO pool.agents (name, spec, template, owner_id) VALUES ('{agent}', '{{\"template\": \"plain\", \"owner\": \"o{k}\"}}', 'plain', 'o{k}');")
    sql.append(f"INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, agent, owner_id, template_id, claimed_at, ready_at, "
               f"conversation_id, invite_url, joined, configured_at, runtime_config, template_generation) VALUES ('{i}', 'default', 'claimed', "
               f"'{digest}', '{url}', '{agent}', 'o{k}', 'plain', now(), now(), '{r['conversationId']}', 'https://convos.org/invite/{k}', false, now(), "
               f"'{config}'::jsonb, 1);")
sql.append("COMMIT;")
subprocess.run(["psql", db, "-qAt"], input="\n".join(sql), text=True, check=True)
PY
until [ "$(q -c "SELECT count(*) FROM pool.agents WHERE status->>'phase' = 'Ready'")" -ge "$count" ]; do sleep 1; done
echo "fleet: $count claimed agents Ready on $digest"

# The tag moves: the rollout starts at the controller's next image poll.
before=$(curl -fs "$sim/_sim/stats")
cpu0=$(awk '{print $14 + $15}' /proc/$server/stat)
python3 - "$sim" <<'PY'
import json, sys, urllib.request
# Pushes a new image under the same tag (the registry's own route for tests).
req = urllib.request.Request(sys.argv[1] + "/_sim/registry/move", data=json.dumps({"repository": "xmtplabs/convos-runtime", "tag": "production", "version": "sim-2"}).encode(),
                             method="POST", headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["digest"])
PY
started=$(date +%s.%N)
peak=0
while true; do
    kill -0 $server 2>/dev/null || { echo "the controller stopped; its log: /tmp/convos-bench-rollout.log" >&2; exit 1; }
    rss=$(awk '/VmRSS/ {print $2}' /proc/$server/status); [ "$rss" -gt "$peak" ] && peak=$rss
    phase=$(curl -fs "$CONTROLLER_URL/v1/pools/default" | python3 -c 'import json,sys; r=json.load(sys.stdin)["status"].get("rollout") or {}; print(r.get("phase",""), r.get("updated",0), r.get("total",0))')
    set -- $phase
    if [ "${1:-}" = Complete ] || [ "${1:-}" = Halted ]; then break; fi
    if python3 -c "import sys, time; sys.exit(0 if time.time() - $started > 1800 else 1)"; then echo "no end after 30 minutes: $phase"; break; fi
    sleep 2
done
took=$(python3 -c "import time; print(f'{time.time() - $started:.0f}')")
cpu1=$(awk '{print $14 + $15}' /proc/$server/stat)
after=$(curl -fs "$sim/_sim/stats")
lost=$(python3 - "$sim" "$DATABASE_URL" <<'PY'
import json, subprocess, sys, urllib.request
sim, db = sys.argv[1], sys.argv[2]
rows = subprocess.run(["psql", db, "-qAt", "-F", " ", "-c",
                       "SELECT s.railway_service_id, i.conversation_id FROM pool.instances i JOIN services.instances s USING (instance_id) WHERE i.state = 'claimed'"],
                      capture_output=True, text=True, check=True).stdout.split("\n")
lost = 0
for line in filter(None, rows):
    service, conversation = line.split(" ")
    record = json.load(urllib.request.urlopen(f"{sim}/_sim/runtime/{service}"))
    if record.get("conversationId") != conversation: lost += 1
print(lost)
PY
)
python3 - "$before" "$after" "$took" "$1" "${2:-0}" "${3:-0}" "$cpu0" "$cpu1" "$peak" "$count" "$lost" <<'PY'
import json, os, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
took, phase, updated, total = float(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
cpu = (float(sys.argv[8]) - float(sys.argv[7])) / os.sysconf("SC_CLK_TCK")
peak, count, lost = int(sys.argv[9]) / 1024, int(sys.argv[10]), int(sys.argv[11])
limited = after.get("railwayRateLimited", 0) - before.get("railwayRateLimited", 0)
print(f"rollout of {count} claimed agents, maxUnavailable 10%, realistic (3 tokens): {phase} in {took:.0f} s, {updated}/{total} updated; "
      f"bound 12 min = 720 s (ten waves of ~55 s are 9.2 min); Railway 429s: {limited} (bound: a handful); conversations lost: {lost} (bound 0); "
      f"controller CPU {cpu:.0f} s over {took:.0f} s ({100 * cpu / max(1, took):.0f}% of one core), peak memory {peak:.0f} MiB")
PY
