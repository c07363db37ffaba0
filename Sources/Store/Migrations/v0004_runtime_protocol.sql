-- The real Convos system (issue 10): the seed's template and agent shapes, the runtime's pool
-- protocol (a key per runtime, a conversation per agent), one deploy per instance.

-- Templates move to the seed's shape: agentName, instructions, model {default, allowOverride},
-- visibility, creator, tools [{id, provisioning, options}], openrouter {limitUsd}.
UPDATE pool.agent_templates SET spec = jsonb_strip_nulls(jsonb_build_object(
    'agentName', coalesce(spec->>'displayName', name),
    'instructions', coalesce(nullif(spec->>'instructions', ''), 'You are a helpful AI assistant.'),
    'model', jsonb_build_object('default', spec->>'model', 'allowOverride', false),
    'visibility', 'private',
    'tools', (SELECT coalesce(jsonb_agg(t ORDER BY ord), '[]'::jsonb) FROM (VALUES
        (1, CASE WHEN spec->'tools' ? 'agentmail' THEN jsonb_build_object('id', 'email', 'provisioning', 'pool') END),
        (2, CASE WHEN spec->'tools' ? 'telnyx' THEN jsonb_build_object('id', 'sms', 'provisioning', 'pool', 'options',
                 jsonb_build_object('country', coalesce(spec->'tools'->'telnyx'->>'country', 'US'))) END),
        (3, CASE WHEN spec->'tools' ? 'bankr' THEN jsonb_build_object('id', 'crypto', 'provisioning', 'pool') END)) v(ord, t)
        WHERE t IS NOT NULL),
    'openrouter', CASE WHEN spec->'tools'->'openrouter'->'creditLimitUsd' IS NOT NULL
        THEN jsonb_build_object('limitUsd', spec->'tools'->'openrouter'->'creditLimitUsd') END))
WHERE jsonb_typeof(spec->'model') = 'string';

-- The seed's old claim flow makes agents without a template, and owners are optional.
ALTER TABLE pool.agents ALTER COLUMN template DROP NOT NULL;
ALTER TABLE pool.agents ALTER COLUMN owner_id DROP NOT NULL;

-- A claimed instance names its agent; the owner may be unknown (old flow).
ALTER TABLE pool.instances DROP CONSTRAINT instances_check;
ALTER TABLE pool.instances ADD CONSTRAINT instances_claimed_check
    CHECK ((state = 'claimed') = (agent IS NOT NULL AND claimed_at IS NOT NULL) OR state IN ('deleting', 'failed'));

-- What the runtime said at configure (the seed's instance columns), and what it runs.
ALTER TABLE pool.instances
    ADD COLUMN agent_name text,
    ADD COLUMN conversation_id text,
    ADD COLUMN invite_url text,
    ADD COLUMN joined boolean,
    ADD COLUMN configured_at timestamptz,
    -- {agentName, instructions, model} the runtime was last configured with, and one it refused.
    ADD COLUMN runtime_config jsonb,
    ADD COLUMN refused_config jsonb,
    ADD COLUMN clone_summary_result text CHECK (clone_summary_result IN ('sent', 'unsupported'));

-- The last observed health of each instance (deploying, deploy_failed, healthy, unreachable), for
-- GET /v1/instances. A table of its own: writing it must not lock instance rows, which a claim's
-- FOR UPDATE SKIP LOCKED would then pass over.
CREATE TABLE pool.instance_health (
    instance_id  text PRIMARY KEY REFERENCES pool.instances (instance_id) ON DELETE CASCADE,
    health       text NOT NULL CHECK (health IN ('deploying', 'deploy_failed', 'healthy', 'unreachable')),
    observed_at  timestamptz NOT NULL DEFAULT now()
);

-- Services: each runtime's own secrets, made with its intent row, and the steps of one create.
ALTER TABLE services.instances
    ADD COLUMN runtime_key text,
    ADD COLUMN services_token text UNIQUE,
    ADD COLUMN gateway_token text,
    ADD COLUMN setup_password text,
    ADD COLUMN wallet_key text,
    ADD COLUMN railway_volume_id text,
    -- Set before projectCreate: a row with this and no project id may have a project to find by name.
    ADD COLUMN project_create_started_at timestamptz,
    -- Set before environmentPatchCommit, and after it: a retry looks before committing twice.
    ADD COLUMN deploy_commit_started_at timestamptz,
    ADD COLUMN deployed_at timestamptz,
    -- The runtime's conversation exists: variables are handed over only after it (a restart must
    -- not cut into /pool/provision, and the invite comes first).
    ADD COLUMN configured_at timestamptz;

-- Tool ids become the seed's: email (AgentMail), sms (Telnyx), crypto (Bankr).
ALTER TABLE services.tool_resources DROP CONSTRAINT tool_resources_tool_check;
UPDATE services.tool_resources SET
    tool = CASE tool WHEN 'agentmail' THEN 'email' WHEN 'telnyx' THEN 'sms' WHEN 'bankr' THEN 'crypto' ELSE tool END,
    idempotency_name = regexp_replace(idempotency_name, '/(agentmail|telnyx|bankr)$',
        CASE WHEN idempotency_name LIKE '%/agentmail' THEN '/email' WHEN idempotency_name LIKE '%/telnyx' THEN '/sms' ELSE '/crypto' END);
ALTER TABLE services.tool_resources ADD CONSTRAINT tool_resources_tool_check CHECK (tool IN ('openrouter', 'email', 'sms', 'crypto'));
ALTER TABLE services.tool_resources
    ADD COLUMN provisioning text NOT NULL DEFAULT 'pool' CHECK (provisioning IN ('pool', 'user')),
    -- Settings in force at the provider (an OpenRouter key's limit); never a secret.
    ADD COLUMN config jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN error_code text;

-- Variables handed to a running agent with /pool/restart-gateway (no container redeploy): a tool's
-- credentials, a model. Secret values: this schema only, never returned by any route.
CREATE TABLE services.runtime_env (
    instance_id   text NOT NULL REFERENCES services.instances (instance_id) ON DELETE CASCADE,
    name          text NOT NULL,
    value         text NOT NULL,
    -- The tool id that set it, or 'model'.
    source        text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    PRIMARY KEY (instance_id, name)
);
CREATE INDEX runtime_env_pending_idx ON services.runtime_env (instance_id) WHERE delivered_at IS NULL;

-- A claim's userConfig (credentials for provisioning: user tools), kept until the agent goes.
CREATE TABLE services.user_configs (
    agent       text PRIMARY KEY,
    config      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
