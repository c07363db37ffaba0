# Shared by scripts/run and scripts/test: system packages and a private Postgres cluster.
# Sourced, not run. Postgres refuses to run as root, so the cluster runs as the `postgres` user
# in a folder it owns, on a private port, with its socket inside that folder.

APT_PACKAGES="libpq-dev libyaml-dev libmicrohttpd-dev libgnutls28-dev nettle-dev postgresql pkg-config curl python3"

log() { printf '==> %s\n' "$*" >&2; }

ensure_packages() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pg_bin() {
    local initdb
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
    [ -n "$initdb" ] || { echo "no Postgres server found under /usr/lib/postgresql" >&2; return 1; }
    dirname "$initdb"
}

# as_postgres CMD...: runs a Postgres tool as the `postgres` user when we are root.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR PORT [fast]: creates the cluster in DIR if needed and starts it. With `fast`,
# fsync is off (a throwaway test cluster); otherwise durable defaults are kept.
pg_start() {
    local dir=$1 port=$2 mode=${3:-}
    local bin; bin=$(pg_bin) || return 1
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        log "creating Postgres cluster in $dir"
        as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $port"
            echo "unix_socket_directories = '$dir'"
            echo "max_connections = 500"
            if [ "$mode" = fast ]; then
                echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
            fi
        } | as_postgres tee -a "$dir/postgresql.conf" >/dev/null
    fi
    if as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        return 0
    fi
    log "starting Postgres on 127.0.0.1:$port"
    # The port given wins over the one the cluster was made with (a folder kept from another run).
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 30 start >/dev/null
}

pg_stop() {
    local dir=$1
    local bin; bin=$(pg_bin) || return 0
    [ -f "$dir/PG_VERSION" ] || return 0
    as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# free_port: a TCP port on loopback that nothing listens on now.
# seed_specs: applies, through the controller at $CONTROLLER_URL with $bin, the pool `default`
# (minIdle 0, maxInstances 100,000) and the template `plain` that seed_fleet.py's agents use, and
# sets $digest once the pool's image is resolved (the seeded instances run it).
seed_specs() {
    "$bin" apply -f - >/dev/null <<'YAML'
apiVersion: agents.convos.org/v1
kind: Pool
metadata: {name: default}
spec: {minIdle: 0, maxInstances: 100000, image: "ghcr.io/xmtplabs/convos-runtime:production"}
---
apiVersion: agents.convos.org/v1
kind: AgentTemplate
metadata: {name: plain}
spec: {agentName: Plain, instructions: "Be plain."}
YAML
    digest=""
    until [ -n "$digest" ]; do
        sleep 0.2
        digest=$(command psql "$DATABASE_URL" -qAt -c "SELECT status->>'imageDigest' FROM pool.pools WHERE name = 'default'")
    done
}

# serve_beside_simulator PROFILE LOG: the simulated cloud as a process of its own (`simulate
# --profile PROFILE`, its URL in $sim, its pid in $simulator), then `serve` (pid in $server, log in
# LOG) pointed at it with the credentials it accepts, as a deployment points at the real providers:
# the fake runtimes' work then runs on neither the controller's cooperative threads nor its memory.
# Waits until both answer. `stop_simulator` ends it.
serve_beside_simulator() {
    local profile=$1 log=$2 simport
    simport=$(free_port)
    "$bin" simulate --profile "$profile" --port "$simport" >"$log.sim" 2>&1 & simulator=$!
    sim="http://127.0.0.1:$simport"
    until curl -fs "$sim/_sim/stats" >/dev/null 2>&1; do sleep 0.1; done
    serve_against_simulator "$log"
}

# serve_against_simulator LOG: `serve` (pid in $server) pointed at the simulator at $sim, as
# serve_beside_simulator starts it; again after stop_server, a new term over the same cloud.
serve_against_simulator() {
    local log=$1
    RAILWAY_API_URL="$sim/railway/graphql/v2" GHCR_URL="$sim/ghcr" OPENROUTER_API_URL="$sim/openrouter/api/v1" \
        TELNYX_API_URL="$sim/telnyx/v2" AGENTMAIL_API_URL="$sim/agentmail" BANKR_API_URL="$sim/bankr" INSTANCE_URL_SCHEME=http \
        RAILWAY_API_TOKENS=sim-railway-token-1,sim-railway-token-2,sim-railway-token-3 RAILWAY_WORKSPACE_ID=sim-workspace \
        OPENROUTER_PROVISIONING_KEY=sim-openrouter-key TELNYX_API_KEY=sim-telnyx-key AGENTMAIL_API_KEY=sim-agentmail-key \
        BANKR_KEYS=$(python3 -c 'print(",".join(f"bk_sim_{i}" for i in range(1, 201)))') \
        "$bin" serve >"$log" 2>&1 & server=$!
    until curl -fs "$CONTROLLER_URL/readyz" >/dev/null 2>&1; do kill -0 $server 2>/dev/null || { cat "$log" >&2; return 1; }; sleep 0.1; done
}

stop_simulator() {
    if [ "${simulator:-0}" -gt 0 ]; then kill -TERM "$simulator" 2>/dev/null || true; wait "$simulator" 2>/dev/null || true; fi
    simulator=0
}

# sim_url LOG: the simulated cloud's URL, from the JSON log of `serve --simulate` (LOG_FORMAT=json).
sim_url() {
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: o = json.loads(l)
    except ValueError: continue
    if o.get("msg") == "simulated cloud started": print(o["url"]); break' "$1"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bench_alone NAME: for a script of scripts/bench.d run by itself rather than by scripts/bench
# (which passes $bin and $pgport): builds the release binary into $bin and starts a throwaway
# Postgres on $pgport. Either way, on exit `bench_exit` stops $server (if any) and that Postgres
# (if it started one): a script that sets its own EXIT trap calls `bench_exit` in it.
bench_alone() {
    trap bench_exit EXIT
    [ -n "${bin:-}" ] && return 0
    ensure_packages
    swift build -c release -j 2 --product convos-controller >/dev/null
    bin="$(swift build -c release --show-bin-path)/convos-controller"
    pgdir=$(mktemp -d "/tmp/convos-$1-pg.XXXXXX"); pgport=$(free_port)
    bench_pgdir=$pgdir
    pg_start "$pgdir" "$pgport"
}

bench_exit() {
    stop_server
    if [ -n "${bench_pgdir:-}" ]; then pg_stop "$bench_pgdir"; rm -rf "$bench_pgdir"; fi
}

# wait_settled FLEET: waits (up to 15 minutes) for the first tick at $CONTROLLER_URL that asked the
# status batch about fewer than 1% of FLEET instances: a new term's whole-fleet rounds (its first
# look at every instance, its resync) are over, as in a fleet that has run a while. Sets $settled to
# the seconds it took (over 900: it gave up).
wait_settled() {
    local fleet=$1 start
    start=$(date +%s)
    # The last tick saw the whole fleet (its counts hold every instance: a tick still reading a
    # seeded fleet for the first time is not the last one reported) and asked about < 1% of it.
    until [ "$(curl -fs "$CONTROLLER_URL/status" | python3 -c 'import json,sys
s = json.load(sys.stdin)
seen = sum(sum(c.values()) for c in s["pools"].values())
print(int(s["lastTick"]["phasesMs"].get("read.asked", 1e9)) if seen >= int(sys.argv[1]) else 10**9)' "$fleet")" -lt $((fleet / 100)) ] \
          || [ $(( $(date +%s) - start )) -gt 900 ]; do sleep 1; done
    settled=$(( $(date +%s) - start ))
}

# stop_server: ends the controller the script started ($server), if it started one. Never
# `kill 0`, which would signal the script's whole process group.
stop_server() {
    if [ "${server:-0}" -gt 0 ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    server=0
}
