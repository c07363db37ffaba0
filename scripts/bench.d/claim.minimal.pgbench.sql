-- The physical limit of a claim on this Postgres: one UPDATE of the oldest idle row, skipping rows
-- others hold (the instance leaves 'idle' as a claim's does; a claimed row must name an agent, so
-- the state here is another one).
UPDATE pool.instances SET state = 'failed', last_error = 'pgbench', updated_at = now()
WHERE instance_id = (SELECT instance_id FROM pool.instances WHERE pool = 'default' AND state = 'idle' ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1);
