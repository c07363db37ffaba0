-- Issue 24: inbound email and SMS for runtimes. A verified webhook becomes one row here (the
-- provider's event id makes a repeat a no-op), delivered to the runtime's /convos/notify by
-- whichever replica claims it, retried with backoff while the runtime is down, across restarts.
CREATE TABLE services.inbound_events (
    id              bigserial PRIMARY KEY,
    provider        text NOT NULL CHECK (provider IN ('agentmail', 'telnyx')),
    event_id        text NOT NULL,
    instance_id     text NOT NULL,
    text            text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, event_id)
);
CREATE INDEX inbound_events_due ON services.inbound_events (next_attempt_at) WHERE delivered_at IS NULL;

-- Issue 24: no account-wide secret in any runtime. Instances made from now on carry exactly the
-- contract's variables; those made before are looked at once (at a resync) and what the contract
-- does not list is removed.
ALTER TABLE services.instances ADD COLUMN variables_checked_at timestamptz;
