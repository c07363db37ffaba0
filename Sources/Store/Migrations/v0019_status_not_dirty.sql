-- Issue 26: the tick is the one writer of agents' and templates' status and keeps what it wrote in
-- its cache; an update of the status alone entering the dirty log made the next tick read those
-- rows again and compute each status once more (after a whole-fleet write at 40,000 agents: 7 s of
-- reading and 8 s of statuses, to write nothing). An update enters the log when anything but the
-- status changed; inserts and deletes always do.
DROP TRIGGER agents_dirty ON pool.agents;
DROP TRIGGER agent_templates_dirty ON pool.agent_templates;
CREATE TRIGGER agents_dirty AFTER INSERT OR DELETE ON pool.agents FOR EACH ROW EXECUTE FUNCTION pool.dirty_named('agent');
CREATE TRIGGER agents_dirty_update AFTER UPDATE ON pool.agents FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'status' - 'observed_generation') IS DISTINCT FROM (to_jsonb(NEW) - 'status' - 'observed_generation'))
    EXECUTE FUNCTION pool.dirty_named('agent');
CREATE TRIGGER agent_templates_dirty AFTER INSERT OR DELETE ON pool.agent_templates FOR EACH ROW EXECUTE FUNCTION pool.dirty_named('template');
CREATE TRIGGER agent_templates_dirty_update AFTER UPDATE ON pool.agent_templates FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'status' - 'observed_generation') IS DISTINCT FROM (to_jsonb(NEW) - 'status' - 'observed_generation'))
    EXECUTE FUNCTION pool.dirty_named('template');
