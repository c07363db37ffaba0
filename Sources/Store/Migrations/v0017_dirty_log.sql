-- Issue 26: the reconciler's incremental tick. Every write to a row a tick reads records the row's
-- key with its transaction's id; a tick reads the keys written since the oldest transaction still
-- running at its previous read (`pg_snapshot_xmin`), so a write committed late is never missed
-- and reading one twice is harmless. The leader deletes what every read has passed.
CREATE TABLE pool.dirty (
    xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind text NOT NULL CHECK (kind IN ('instance', 'agent', 'template')),
    key  text NOT NULL
);
CREATE INDEX dirty_xid_idx ON pool.dirty (xid);

CREATE FUNCTION pool.dirty_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pool.dirty (kind, key) VALUES ('instance', CASE WHEN TG_OP = 'DELETE' THEN OLD.instance_id ELSE NEW.instance_id END);
    RETURN NULL;
END $$;
CREATE FUNCTION pool.dirty_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pool.dirty (kind, key) VALUES (TG_ARGV[0], CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END);
    RETURN NULL;
END $$;

CREATE TRIGGER instances_dirty AFTER INSERT OR UPDATE OR DELETE ON pool.instances FOR EACH ROW EXECUTE FUNCTION pool.dirty_instance();
CREATE TRIGGER instance_health_dirty AFTER INSERT OR UPDATE OR DELETE ON pool.instance_health FOR EACH ROW EXECUTE FUNCTION pool.dirty_instance();
CREATE TRIGGER services_instances_dirty AFTER INSERT OR UPDATE OR DELETE ON services.instances FOR EACH ROW EXECUTE FUNCTION pool.dirty_instance();
CREATE TRIGGER tool_resources_dirty AFTER INSERT OR UPDATE OR DELETE ON services.tool_resources FOR EACH ROW EXECUTE FUNCTION pool.dirty_instance();
CREATE TRIGGER runtime_env_dirty AFTER INSERT OR UPDATE OR DELETE ON services.runtime_env FOR EACH ROW EXECUTE FUNCTION pool.dirty_instance();
CREATE TRIGGER agents_dirty AFTER INSERT OR UPDATE OR DELETE ON pool.agents FOR EACH ROW EXECUTE FUNCTION pool.dirty_named('agent');
CREATE TRIGGER agent_templates_dirty AFTER INSERT OR UPDATE OR DELETE ON pool.agent_templates FOR EACH ROW EXECUTE FUNCTION pool.dirty_named('template');

-- A deleted instance's clones lose their parent (ON DELETE SET NULL): without an index each delete
-- scanned every instance (a teardown at 50,000 instances; a bench's cleanup took minutes).
CREATE INDEX instances_parent_idx ON pool.instances (parent_instance) WHERE parent_instance IS NOT NULL;
