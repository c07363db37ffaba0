-- Issue 26: pool.instances had two indexes on `agent`: the UNIQUE constraint's and a partial one
-- (v0003). Every update that moves an instance's row (a claim, a release, a status) wrote an entry
-- in both; the unique index answers every lookup by agent the partial one did.
DROP INDEX pool.instances_agent_idx;
