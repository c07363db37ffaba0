-- The statements of one HTTP claim (ClaimRoutes.swift), in one transaction, for pgbench.
BEGIN;
SELECT 1 FROM pool.agent_templates WHERE name = 'concierge';
INSERT INTO pool.agents (name, spec, template, owner_id, status)
  VALUES ('pgb-' || substr(md5(random()::text || clock_timestamp()::text), 1, 20), '{"owner":"bench","template":"concierge"}', 'concierge', 'bench', '{"phase":"Pending"}')
  RETURNING name AS agent \gset
SELECT name FROM pool.pools ORDER BY (name = 'default') DESC, name LIMIT 1;
UPDATE pool.instances SET state = 'claimed', agent = :agent, owner_id = 'bench', template_id = 'concierge', claimed_at = now(),
    parent_instance = (SELECT instance_id FROM pool.instances WHERE agent = NULL), updated_at = now()
  WHERE instance_id = (SELECT instance_id FROM pool.instances WHERE pool = 'default' AND state = 'idle' ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
  RETURNING instance_id, url;
UPDATE pool.agents SET status = '{"phase":"Provisioning"}' WHERE name = :agent;
INSERT INTO pool.events (kind, name, type, reason, message) VALUES ('Agent', :agent, 'Normal', 'Claimed', 'bench');
END;
