-- Issue 25: rollouts of a new runtime to claimed agents. An instance's upgrade in flight (to a
-- digest, or back after a failure), where it came from (undo returns it there), and each pool's
-- rollout: its target, what an operator said (pause, undo) and the failure that halted it.
ALTER TABLE pool.instances ADD COLUMN upgrade_phase text CHECK (upgrade_phase IN ('upgrading', 'rollingBack'));
ALTER TABLE pool.instances ADD COLUMN upgrade_to text;
ALTER TABLE pool.instances ADD COLUMN upgrade_started_at timestamptz;
ALTER TABLE pool.instances ADD COLUMN upgrade_error text;
ALTER TABLE pool.instances ADD COLUMN previous_digest text;
ALTER TABLE pool.instances ADD COLUMN upgraded_at timestamptz;
-- `self-upgrade`: the runtime asked to move to its pool's digest now, through the same gates.
ALTER TABLE pool.instances ADD COLUMN upgrade_requested_at timestamptz;

CREATE TABLE pool.rollouts (
    pool            text PRIMARY KEY REFERENCES pool.pools (name) ON DELETE CASCADE,
    target_digest   text NOT NULL,
    previous_digest text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    paused          boolean NOT NULL DEFAULT false,
    halted_agent    text,
    halted_error    text,
    undo            boolean NOT NULL DEFAULT false
);
