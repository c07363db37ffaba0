#!/usr/bin/env bash
# What the Kubernetes API's change log costs the claim path (issue 13): claims over HTTP with the
# agents' change trigger enabled and disabled, interleaved on one server, 2 s each (wrk).
#   bash scripts/bench.d/changelog-cost.sh      (builds the release binary and a durable Postgres)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. scripts/lib/common.sh
APT_PACKAGES="$APT_PACKAGES wrk"
ensure_packages
swift build -c release -j 2 --product convos-controller >/dev/null
bin="$(swift build -c release --show-bin-path)/convos-controller"
pgdir=$(mktemp -d /tmp/convos-changelog-pg.XXXXXX); pgport=$(free_port)
server=0
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; pg_stop "$pgdir"; rm -rf "$pgdir"' EXIT
pg_start "$pgdir" "$pgport"   # durable: fsync and synchronous_commit on
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/postgres" PORT=$(free_port) BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warning
export CONTROLLER_URL="http://127.0.0.1:$PORT"
psql() { command psql "$DATABASE_URL" -qAt "$@"; }
"$bin" serve --simulate >/tmp/convos-changelog-server.log 2>&1 & server=$!
until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do sleep 0.1; done
"$bin" apply -f specs/02-templates.yaml >/dev/null
sed 's/minIdle: 3/minIdle: 0/; s/maxInstances: 50/maxInstances: 10000/' specs/01-pool.yaml | "$bin" apply -f - >/dev/null
until [ -n "$(psql -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name='default'")" ]; do sleep 0.1; done
digest=$(psql -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name='default'")
psql -c "BEGIN; INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at)
         SELECT substr(md5(random()::text || g::text || clock_timestamp()::text), 1, 20), 'default', 'idle', '$digest', 'http://bench/' || g, now()
         FROM generate_series(1, 9000) g;
         UPDATE pool.pools SET spec = jsonb_set(spec, '{minIdle}', to_jsonb(9000)); COMMIT;"
sleep 3
run() { wrk -t2 -c32 -d2s -s scripts/bench.d/claim.lua "$CONTROLLER_URL/api/pool/claim?wait=0" | awk '/Requests\/sec/ {print $2}'; }
on=(); off=()
for _ in 1 2 3; do
    psql -c "ALTER TABLE pool.agents ENABLE TRIGGER agents_changes"; on+=("$(run)")
    psql -c "ALTER TABLE pool.agents DISABLE TRIGGER agents_changes"; off+=("$(run)")
done
psql -c "ALTER TABLE pool.agents ENABLE TRIGGER agents_changes"
echo "claims/s with the change log's trigger: ${on[*]}; without it: ${off[*]} (bound: no measurable cost)"
