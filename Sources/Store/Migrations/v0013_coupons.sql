-- Issue 23: Coupons, redeemed by agents' runtimes. A kind like the others (its change log, its
-- uid and annotations for the Kubernetes API); its code is stored as a hash inside spec.
CREATE TABLE pool.coupons (
    name              pool.dns_label PRIMARY KEY,
    labels            jsonb NOT NULL DEFAULT '{}',
    spec              jsonb NOT NULL,
    generation        bigint NOT NULL DEFAULT 1 CHECK (generation > 0),
    resource_version  bigint NOT NULL DEFAULT nextval('pool.resource_version_seq'),
    status            jsonb NOT NULL DEFAULT '{}',
    observed_generation bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    annotations       jsonb NOT NULL DEFAULT '{}',
    uid               uuid NOT NULL DEFAULT gen_random_uuid()
);
CREATE INDEX coupons_code ON pool.coupons ((spec->>'codeSha256'));
ALTER TABLE pool.changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE pool.changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('Pool', 'AgentTemplate', 'Agent', 'Coupon'));
CREATE CONSTRAINT TRIGGER coupons_changes AFTER INSERT OR UPDATE OR DELETE ON pool.coupons
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pool.record_change('Coupon');

-- Each agent redeems a coupon once; the count is checked against maxRedemptions under the coupon's
-- row lock. Kept when the coupon or the agent goes: the history of what was granted.
CREATE TABLE pool.coupon_redemptions (
    coupon      text NOT NULL,
    agent       text NOT NULL,
    instance_id text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coupon, agent)
);
