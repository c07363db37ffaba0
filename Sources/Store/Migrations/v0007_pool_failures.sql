-- Issue 12: crash loops. Every instance that fails (a deploy FAILED or CRASHED, a runtime never
-- ready) is recorded against its pool, digest and the pool's generation; the planner stops
-- creating after a few in a window, and a new digest or a spec change starts the count again.
CREATE TABLE pool.pool_failures (
    id          bigserial PRIMARY KEY,
    pool        pool.dns_label NOT NULL REFERENCES pool.pools (name) ON DELETE CASCADE,
    instance_id text NOT NULL,
    digest      text,
    generation  bigint NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pool_failures_pool_at_idx ON pool.pool_failures (pool, at);
