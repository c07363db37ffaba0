-- Issue 23: today's runtime. A join that waits for the conversation owner's approval, and a runtime
-- whose conversation disagrees with the agent's (or whose join was refused), are states of the
-- claimed instance; the runtime's version and harness, as /pool/health says, sit beside its health.
ALTER TABLE pool.instances ADD COLUMN acceptance text CHECK (acceptance IN ('pending', 'tainted'));
ALTER TABLE pool.instances ADD COLUMN acceptance_message text;
ALTER TABLE pool.instance_health ADD COLUMN runtime_version text;
ALTER TABLE pool.instance_health ADD COLUMN runtime_type text;

-- What a runtime's self-service raised its own OpenRouter limit by: top-ups count per day from here.
CREATE TABLE services.credit_grants (
    id bigserial PRIMARY KEY,
    instance_id text NOT NULL,
    source text NOT NULL CHECK (source IN ('topup', 'coupon')),
    coupon text,
    previous_limit double precision NOT NULL,
    new_limit double precision NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_grants_instance ON services.credit_grants (instance_id, at);
