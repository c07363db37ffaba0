-- Issue 13: the Kubernetes API. Annotations (kubectl's client-side apply keeps its
-- last-applied-configuration there), a uid per object, and the change log that watches read.

ALTER TABLE pool.pools ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}', ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE pool.agent_templates ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}', ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE pool.agents ADD COLUMN annotations jsonb NOT NULL DEFAULT '{}', ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();

-- Every committed change of a pool, template or agent: `rv` is the Kubernetes resourceVersion of
-- the object as `object` holds it (the row, as written). Written by the triggers below in the
-- transaction that made the change, so no writer can forget it.
CREATE SEQUENCE pool.change_seq;
CREATE TABLE pool.changes (
    rv      bigint PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('Pool', 'AgentTemplate', 'Agent')),
    name    text NOT NULL,
    type    text NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
    object  jsonb NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_object_idx ON pool.changes (kind, name, rv);
CREATE INDEX changes_at_idx ON pool.changes (at);
-- The newest version compaction removed: a watch from before it has lost changes (410 Gone).
-- Compaction keeps each object's latest change, so lists and gets always find it.
CREATE TABLE pool.change_compaction (
    id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    rv bigint NOT NULL DEFAULT 0
);
INSERT INTO pool.change_compaction DEFAULT VALUES;

-- Runs at commit (a deferred constraint trigger), so versions are handed out nearly in commit
-- order; `at` is when (clock_timestamp). Readers allow for the rest: a version missing below one
-- they have seen belongs to a commit still in flight, or to one that failed, and is waited for
-- until the version after it is a few seconds old (KubeChangeLog). No lock and no NOTIFY here:
-- a lock held to the end of the commit serialised every commit's WAL flush (claims fell from
-- 400-800/s to 130/s in the same run), and NOTIFY takes a global lock at commit too.
CREATE FUNCTION pool.record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    version bigint;
    row_json jsonb;
    change text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_json := to_jsonb(OLD);
        change := 'DELETED';
    ELSIF TG_OP = 'INSERT' THEN
        row_json := to_jsonb(NEW);
        change := 'ADDED';
    ELSE
        IF OLD IS NOT DISTINCT FROM NEW THEN RETURN NULL; END IF;
        row_json := to_jsonb(NEW);
        change := 'MODIFIED';
    END IF;
    version := nextval('pool.change_seq');
    INSERT INTO pool.changes (rv, kind, name, type, object, at)
    VALUES (version, TG_ARGV[0], row_json->>'name', change, row_json, clock_timestamp());
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER pools_changes AFTER INSERT OR UPDATE OR DELETE ON pool.pools
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pool.record_change('Pool');
CREATE CONSTRAINT TRIGGER agent_templates_changes AFTER INSERT OR UPDATE OR DELETE ON pool.agent_templates
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pool.record_change('AgentTemplate');
CREATE CONSTRAINT TRIGGER agents_changes AFTER INSERT OR UPDATE OR DELETE ON pool.agents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pool.record_change('Agent');

-- Objects that exist now start in the log, so each has a version.
INSERT INTO pool.changes (rv, kind, name, type, object)
SELECT nextval('pool.change_seq'), kind, name, 'ADDED', object FROM (
    SELECT 'Pool' AS kind, name, to_jsonb(p) AS object, created_at FROM pool.pools p
    UNION ALL SELECT 'AgentTemplate', name, to_jsonb(t), created_at FROM pool.agent_templates t
    UNION ALL SELECT 'Agent', name, to_jsonb(a), created_at FROM pool.agents a
) existing ORDER BY created_at;
