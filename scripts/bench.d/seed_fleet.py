#!/usr/bin/env python3
"""Seeds a fleet straight into the simulator and the database, as it would stand after months of
creates (building it through Railway's pace would take days): each instance is a simulated Railway
project whose service runs IMAGE with its own GATEWAY_TOKEN, and a row in both schemas.

Usage: seed_fleet.py SIM_URL DATABASE_URL COUNT DIGEST STATE [POOL] [PREFIX]
STATE is `idle` (a warm pool: no conversation yet) or `claimed` (each with an agent of template
`plain`, a conversation and an invite). Prints the number seeded. SEED_HOLD=1: the pool's minIdle
and maxInstances are set to its counts in the same transaction (refill and scale-down held off).
"""
import io, json, os, subprocess, sys, urllib.request, uuid

sim, db, n, digest, state = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
pool = sys.argv[6] if len(sys.argv) > 6 else "default"
prefix = sys.argv[7] if len(sys.argv) > 7 else uuid.uuid4().hex[:6]
image = "ghcr.io/xmtplabs/convos-runtime@" + digest
ids = [uuid.uuid4().hex[:20] for _ in range(n)]
rows = []
for i in range(0, n, 2000):
    body = json.dumps({"names": ["convos-agent-" + x for x in ids[i:i + 2000]], "image": image, "idle": state == "idle", "keys": True}).encode()
    req = urllib.request.Request(sim + "/_sim/railway/bulk", data=body, method="POST", headers={"Content-Type": "application/json"})
    rows += json.load(urllib.request.urlopen(req, timeout=300))

services, agents, instances, keys = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
config = json.dumps({"agentName": "Plain", "instructions": "Be plain.", "model": None})
for k, r in enumerate(rows):
    i = r["name"][len("convos-agent-"):]
    url = sim + "/runtime/" + r["serviceId"]
    services.write("\t".join([i, r["projectId"], r["environmentId"], r["serviceId"], url, image, r["gatewayToken"]]) + "\n")
    keys.write("\t".join([i, r["openrouterKey"]]) + "\n")
    if state == "claimed":
        agent = f"a-{prefix}-{k:06d}"
        agents.write("\t".join([agent, json.dumps({"template": "plain", "owner": f"o{k}"}), f"o{k}"]) + "\n")
        instances.write("\t".join([i, pool, url, agent, f"o{k}", r["conversationId"], f"https://convos.org/invite/{prefix}{k}", config]) + "\n")
    else:
        instances.write("\t".join([i, pool, url]) + "\n")

# One psql session, the data inline as pg_dump writes it: staged, then inserted with the constants.
script = ["\\set ON_ERROR_STOP on", "BEGIN;",
          "CREATE TEMP TABLE ss (instance_id text, project text, environment text, service text, url text, image text, token text);",
          "COPY ss FROM STDIN;", services.getvalue() + "\\.",
          "INSERT INTO services.instances (instance_id, railway_project_id, railway_environment_id, railway_service_id, url, image, state, "
          "deploy_status, deployed_at, configured_at, variables_checked_at, runtime_key) "
          "SELECT instance_id, project, environment, service, url, image, 'ready', 'SUCCESS', now(), now(), now(), token FROM ss;",
          # Every instance's OpenRouter key, made with it (the simulator holds the same keys).
          "CREATE TEMP TABLE sk (instance_id text, hash text);", "COPY sk FROM STDIN;", keys.getvalue() + "\\.",
          "INSERT INTO services.tool_resources (instance_id, tool, external_id, idempotency_name, state) "
          "SELECT instance_id, 'openrouter', hash, 'convos-' || instance_id || '-openrouter', 'ready' FROM sk;"]
if state == "claimed":
    script += ["CREATE TEMP TABLE sa (name text, spec jsonb, owner_id text);", "COPY sa FROM STDIN;", agents.getvalue() + "\\.",
               "INSERT INTO pool.agents (name, spec, template, owner_id) SELECT name, spec, 'plain', owner_id FROM sa;",
               "CREATE TEMP TABLE si (instance_id text, pool text, url text, agent text, owner_id text, conversation_id text, invite_url text, "
               "runtime_config jsonb);", "COPY si FROM STDIN;", instances.getvalue() + "\\.",
               "INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, agent, owner_id, template_id, claimed_at, ready_at, "
               "conversation_id, invite_url, joined, configured_at, runtime_config, template_generation) "
               f"SELECT instance_id, pool, 'claimed', '{digest}', url, agent, owner_id, 'plain', now(), now(), conversation_id, invite_url, false, "
               "now(), runtime_config, 1 FROM si;"]
else:
    script += ["CREATE TEMP TABLE si (instance_id text, pool text, url text);", "COPY si FROM STDIN;", instances.getvalue() + "\\.",
               f"INSERT INTO pool.instances (instance_id, pool, state, image_digest, url, ready_at) SELECT instance_id, pool, 'idle', '{digest}', url, "
               "now() FROM si;"]
if os.environ.get("SEED_HOLD") == "1":
    # In the same transaction: the pool's minIdle and maxInstances become its counts, so no tick
    # creates (no room) or scales down (no surplus) because of what was seeded.
    script.append(f"UPDATE pool.pools SET spec = spec || jsonb_build_object("
                  f"'minIdle', (SELECT count(*) FROM pool.instances WHERE pool = '{pool}' AND state = 'idle'), "
                  f"'maxInstances', (SELECT count(*) FROM pool.instances WHERE pool = '{pool}')), generation = generation + 1 WHERE name = '{pool}';")
script.append("COMMIT;")
subprocess.run(["psql", db, "-qAt"], input="\n".join(script) + "\n", text=True, check=True)
print(len(rows))
