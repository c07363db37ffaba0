-- What the reconciler records per claimed instance: the template generation it pushed, and
-- whether the clone summary reached the parent.
ALTER TABLE pool.instances ADD COLUMN template_generation bigint;
ALTER TABLE pool.instances ADD COLUMN clone_summary_sent_at timestamptz;
ALTER TABLE pool.instances ADD COLUMN last_error text;
CREATE INDEX instances_agent_idx ON pool.instances (agent) WHERE agent IS NOT NULL;
