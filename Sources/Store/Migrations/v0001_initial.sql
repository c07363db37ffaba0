-- The two schemas of the data model, split by domain (the seed's key decision 2):
-- `pool` holds orchestration state, `services` holds provider resource ids.
-- Invariants live here, as constraints, so no code path can break them.

CREATE SCHEMA IF NOT EXISTS pool;
CREATE SCHEMA IF NOT EXISTS services;

-- One global, monotonic version for every write, as Kubernetes' resourceVersion.
CREATE SEQUENCE pool.resource_version_seq;

CREATE DOMAIN pool.dns_label AS text
    CHECK (VALUE ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' AND length(VALUE) <= 63);

CREATE TABLE pool.pools (
    name              pool.dns_label PRIMARY KEY,
    labels            jsonb NOT NULL DEFAULT '{}',
    spec              jsonb NOT NULL,
    generation        bigint NOT NULL DEFAULT 1 CHECK (generation > 0),
    resource_version  bigint NOT NULL DEFAULT nextval('pool.resource_version_seq'),
    status            jsonb NOT NULL DEFAULT '{}',
    observed_generation bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((spec->>'minIdle')::int >= 0),
    CHECK ((spec->>'maxInstances')::int >= (spec->>'minIdle')::int)
);

CREATE TABLE pool.agent_templates (
    name              pool.dns_label PRIMARY KEY,
    labels            jsonb NOT NULL DEFAULT '{}',
    spec              jsonb NOT NULL,
    generation        bigint NOT NULL DEFAULT 1 CHECK (generation > 0),
    resource_version  bigint NOT NULL DEFAULT nextval('pool.resource_version_seq'),
    status            jsonb NOT NULL DEFAULT '{}',
    observed_generation bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pool.agents (
    name              pool.dns_label PRIMARY KEY,
    labels            jsonb NOT NULL DEFAULT '{}',
    spec              jsonb NOT NULL,
    -- Copies of spec fields the database must guard: a template in use cannot be deleted.
    template          pool.dns_label NOT NULL REFERENCES pool.agent_templates (name) ON DELETE RESTRICT,
    owner_id          text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 128),
    clone_from        pool.dns_label,
    generation        bigint NOT NULL DEFAULT 1 CHECK (generation > 0),
    resource_version  bigint NOT NULL DEFAULT nextval('pool.resource_version_seq'),
    status            jsonb NOT NULL DEFAULT '{}',
    observed_generation bigint NOT NULL DEFAULT 0,
    -- Set by DELETE: the agent is Terminating until its teardown completes.
    deletion_requested_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (clone_from IS NULL OR clone_from <> name)
);
CREATE INDEX agents_template_idx ON pool.agents (template);
CREATE INDEX agents_pending_idx ON pool.agents (created_at) WHERE deletion_requested_at IS NULL;

CREATE TABLE pool.instances (
    instance_id       text PRIMARY KEY CHECK (instance_id ~ '^[a-z0-9]{6,32}$'),
    pool              pool.dns_label NOT NULL REFERENCES pool.pools (name) ON DELETE RESTRICT,
    state             text NOT NULL DEFAULT 'provisioning'
                      CHECK (state IN ('provisioning', 'idle', 'claimed', 'failed', 'deleting')),
    image_digest      text,
    url               text,
    agent             pool.dns_label UNIQUE REFERENCES pool.agents (name) ON DELETE SET NULL,
    owner_id          text,
    template_id       pool.dns_label,
    parent_instance   text REFERENCES pool.instances (instance_id) ON DELETE SET NULL,
    template_synced_at timestamptz,
    claimed_at        timestamptz,
    ready_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- A claimed instance always names its agent and owner; an idle one never does.
    CHECK ((state = 'claimed') = (agent IS NOT NULL AND owner_id IS NOT NULL AND claimed_at IS NOT NULL)
           OR state IN ('deleting', 'failed')),
    CHECK (state <> 'idle' OR url IS NOT NULL)
);
-- The claim statement's index: the oldest idle instance of a pool, found without a scan.
CREATE INDEX instances_idle_idx ON pool.instances (pool, created_at) WHERE state = 'idle';
CREATE INDEX instances_state_idx ON pool.instances (pool, state);

CREATE TABLE pool.events (
    id                bigserial PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    kind              text NOT NULL,
    name              text NOT NULL,
    type              text NOT NULL DEFAULT 'Normal' CHECK (type IN ('Normal', 'Warning')),
    reason            text NOT NULL,
    message           text NOT NULL DEFAULT ''
);
CREATE INDEX events_object_idx ON pool.events (kind, name, at DESC);
CREATE INDEX events_at_idx ON pool.events (at DESC);

-- The leader lease: one row per lease name, a fencing token that only grows.
CREATE TABLE pool.leases (
    name              text PRIMARY KEY,
    holder            text NOT NULL,
    fencing_token     bigint NOT NULL CHECK (fencing_token > 0),
    acquired_at       timestamptz NOT NULL DEFAULT now(),
    renewed_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL
);

-- Services: Railway and provider resource ids live here only (the seed's key decisions 1 and 3).
CREATE TABLE services.instances (
    instance_id        text PRIMARY KEY CHECK (instance_id ~ '^[a-z0-9]{6,32}$'),
    railway_project_id text UNIQUE,
    railway_environment_id text,
    railway_service_id text UNIQUE,
    url                text,
    image              text,
    deploy_status      text NOT NULL DEFAULT 'creating',
    state              text NOT NULL DEFAULT 'creating'
                       CHECK (state IN ('creating', 'ready', 'deleting', 'deleted')),
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services.tool_resources (
    instance_id       text NOT NULL REFERENCES services.instances (instance_id) ON DELETE CASCADE,
    tool              text NOT NULL CHECK (tool IN ('openrouter', 'agentmail', 'telnyx', 'bankr')),
    external_id       text,
    -- The name the resource carries at the provider, derived from the instance id, so a crash
    -- between the provider's create and our write is healed by finding it by name.
    idempotency_name  text NOT NULL UNIQUE,
    state             text NOT NULL DEFAULT 'creating'
                      CHECK (state IN ('creating', 'ready', 'deleting', 'deleted')),
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, tool),
    CHECK (state <> 'ready' OR external_id IS NOT NULL)
);
