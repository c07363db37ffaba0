import Foundation
import Postgres
import Resources

/// The reconciler's writes to instances and agents, each in one transaction under the leader's
/// fence, each with its event: a deposed leader's late write fails at the fence, and a write planned
/// from a stale tick finds its work done and changes nothing. Called by `Executor` only.
package struct InstanceWrites: Sendable {
    package let db: PostgresPool
    package let fence: Fence

    package init(db: PostgresPool, fence: Fence) {
        self.db = db
        self.fence = fence
    }

    /// The pool an instance belongs to (a read: no fence).
    package func pool(of instance: String) async throws -> String? {
        try await db.query("SELECT pool FROM pool.instances WHERE instance_id = $1", [instance]).first?.decode("pool")
    }

    /// The instance's pool's `spec.env`: plain variables for its runtime.
    package func poolEnv(of instance: String) async throws -> [String: String] {
        guard let text: JSONText = try await db.query("""
            SELECT p.spec->'env' AS env FROM pool.instances i JOIN pool.pools p ON p.name = i.pool
            WHERE i.instance_id = $1 AND jsonb_typeof(p.spec->'env') = 'object'
            """, [instance]).first?.decode("env") else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: text.data)) ?? [:]
    }

    /// Read your own writes: the count and the new intent rows are in one transaction, under the
    /// pool's row lock, so a stale view can never create past minIdle or maxInstances. Returns the
    /// new instances' ids (none when the pool is gone or already has enough coming). The crash-loop
    /// rule is held here too (`failureLimit` failures of this digest and generation within
    /// `failureWindow`, less those starting, unless the digest is proven): a plan made just before
    /// another create committed did not see that create's instances starting.
    package func createIntents(pool: String, count: Int, digest: String, failureLimit: Int = 0,
                               failureWindow: TimeInterval = 600) async throws -> [String] {
        try await fence.transaction { c in
            guard let row = try await c.query("SELECT spec FROM pool.pools WHERE name = $1 FOR UPDATE", [pool]).first else { return [] }
            let spec = try JSONDecoder().decode(PoolSpec.self, from: try row.decode("spec", as: JSONText.self).data)
            let counts = try await c.query("""
                SELECT count(*) FILTER (WHERE state <> 'deleting')::int AS active,
                       count(*) FILTER (WHERE state = 'provisioning' OR (state = 'idle' AND image_digest = $2))::int AS coming,
                       (SELECT count(*)::int FROM pool.agents a WHERE a.deletion_requested_at IS NULL
                          AND NOT EXISTS (SELECT 1 FROM pool.instances i WHERE i.agent = a.name)) AS waiting,
                       count(*) FILTER (WHERE state = 'provisioning' AND image_digest = $2)::int AS starting,
                       coalesce(bool_or(state IN ('idle', 'claimed') AND image_digest = $2), false) AS proven,
                       (SELECT count(*)::int FROM pool.pool_failures f JOIN pool.pools p ON p.name = f.pool
                        WHERE f.pool = $1 AND f.digest = $2 AND f.generation = p.generation
                          AND f.at > now() - make_interval(secs => $3)) AS failures
                FROM pool.instances WHERE pool = $1
                """, [pool, digest, String(failureWindow)]).first!
            let wanted = spec.minIdle + (try counts.decode("waiting", as: Int.self))
            var n = min(count, wanted - (try counts.decode("coming", as: Int.self)), spec.maxInstances - (try counts.decode("active", as: Int.self)))
            if failureLimit > 0, !(try counts.decode("proven", as: Bool.self)) {
                n = min(n, failureLimit - (try counts.decode("failures", as: Int.self)) - (try counts.decode("starting", as: Int.self)))
            }
            guard n > 0 else { return [] }
            var ids: [String] = []
            for _ in 0..<n {
                let id = InstanceID.make()
                _ = try await c.query("INSERT INTO pool.instances (instance_id, pool, image_digest) VALUES ($1, $2, $3)", [id, pool, digest])
                ids.append(id)
            }
            try await Events.record(c, kind: "Pool", name: pool, reason: "Scaling", message: "creating \(n) instance(s) on \(digest.prefix(19))")
            return ids
        }
    }

    package func markIdle(_ id: String, url: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET state = 'idle', url = $2, ready_at = now(), updated_at = now()
                WHERE instance_id = $1 AND state = 'provisioning' RETURNING instance_id
                """, [id, url])
            if !rows.isEmpty { try await Events.record(c, kind: "Instance", name: id, reason: "Ready", message: "runtime ready at \(url)") }
        }
    }

    /// Counted against the pool, its digest and generation: the crash-loop rule reads them.
    package func markFailed(_ id: String, reason: String) async throws {
        try await fence.transaction { c in
            let failed = try await c.query("""
                WITH f AS (
                    UPDATE pool.instances SET state = 'failed', last_error = $2, updated_at = now()
                    WHERE instance_id = $1 AND state IN ('provisioning', 'idle') RETURNING pool, image_digest
                )
                INSERT INTO pool.pool_failures (pool, instance_id, digest, generation, reason)
                SELECT f.pool, $1, f.image_digest, p.generation, $2 FROM f JOIN pool.pools p ON p.name = f.pool
                RETURNING id
                """, [id, reason])
            guard !failed.isEmpty else { return }
            // A day of them is plenty for any window and for reading back.
            _ = try await c.query("DELETE FROM pool.pool_failures WHERE at < now() - interval '1 day'")
            try await Events.record(c, kind: "Instance", name: id, type: "Warning", reason: reason, message: "instance failed; it will be replaced")
        }
    }

    /// Rebind: the instance lets go of the agent, which binds a fresh one on the next tick; the lost
    /// one, failed and unbound, is torn down (its tools released, its project's delete finding it
    /// gone). Fail: the agent keeps it, Failed.
    package func instanceLost(agent: String, instance id: String, rebind: Bool) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET state = 'failed', last_error = 'InstanceLost', updated_at = now(),
                    agent = CASE WHEN $3 THEN NULL ELSE agent END
                WHERE instance_id = $1 AND agent = $2 AND state = 'claimed' RETURNING instance_id
                """, [id, agent, rebind])
            guard !rows.isEmpty else { return }
            try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "InstanceLost", message: rebind
                ? "the Railway project of instance \(id) is gone; binding a fresh instance (a new conversation and invite URL)"
                : "the Railway project of instance \(id) is gone; spec.onInstanceLost is Fail, so the agent stays Failed until deleted")
        }
    }

    /// An event alone, fenced like the writes it reports.
    package func event(kind: String, name: String, type: String = "Normal", reason: String, message: String) async throws {
        try await fence.transaction { c in try await Events.record(c, kind: kind, name: name, type: type, reason: reason, message: message) }
    }

    package func beginTeardown(_ id: String) async throws {
        try await fence.transaction { c in
            _ = try await c.query("UPDATE pool.instances SET state = 'deleting', updated_at = now() WHERE instance_id = $1", [id])
        }
    }

    package func finishTeardown(_ id: String, reason: String) async throws {
        try await fence.transaction { c in
            _ = try await c.query("DELETE FROM pool.instances WHERE instance_id = $1", [id])
            try await Events.record(c, kind: "Instance", name: id, reason: "TornDown", message: reason)
        }
    }

    /// The agent's row goes once it is being deleted and holds no instance.
    package func removeAgent(_ agent: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                DELETE FROM pool.agents WHERE name = $1 AND deletion_requested_at IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM pool.instances WHERE agent = $1) RETURNING name
                """, [agent])
            if !rows.isEmpty { try await Events.record(c, kind: "Agent", name: agent, reason: "Deleted", message: "teardown complete") }
        }
    }

    /// Binds a waiting agent to an idle instance of `pool`; true once it holds one (now or before).
    /// The agent's row is locked first, so two binds of one agent (a plan from a stale tick, a
    /// deposed leader's action still in flight) run one after the other; the second then reads, in
    /// a statement of its own (so a fresh snapshot), that the first bound it.
    package func bind(agent: String, pool: String) async throws -> Bool {
        try await fence.transaction { c in
            guard let a = try await c.query("""
                SELECT owner_id, template, clone_from FROM pool.agents WHERE name = $1 AND deletion_requested_at IS NULL FOR UPDATE
                """, [agent]).first else { return false }
            let hasInstance = try await c.query("SELECT EXISTS (SELECT 1 FROM pool.instances WHERE agent = $1) AS has", [agent])
                .first!.decode("has", as: Bool.self)
            if hasInstance { return true }
            let claim = try await Claims.claim(c, pool: pool, agent: agent, owner: try a.decode("owner_id"),
                                               template: try a.decode("template"), cloneFrom: try a.decode("clone_from"))
            if let claim { try await Events.record(c, kind: "Agent", name: agent, reason: "Claimed", message: "bound to \(claim.instanceID)") }
            return claim != nil
        }
    }
}
