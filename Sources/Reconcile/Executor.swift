import Foundation
import Postgres
import Providers
import Resources
import Services
import Store
import Telemetry

/// Carries out one planned action. Every write to `pool` goes through the leader's fence; every
/// external effect goes through the services layer, and all are idempotent but configure (which the
/// work queue's key keeps to one at a time), so an action cut short by a crash is simply planned
/// and done again. The agent's own steps are in `Executor+Agent.swift`.
package struct Executor: Sendable {
    package let db: PostgresPool
    package let fence: Fence
    package let services: any ServicesClient
    /// Called with how many instances a pool create made, or 0 when it failed: the slow start.
    package let creates: @Sendable (String, Int, Bool) -> Void
    /// Called once an agent's conversation is recorded: claims waiting for its invite answer.
    package let configured: @Sendable (String) -> Void

    package func run(_ action: Action) async -> ReconcileOutcome {
        do {
            // The services' writes are fenced by this action's lease too (`ServicesDB`).
            return try await Fencing.$current.withValue(fence.term) { try await perform(action) }
        } catch let error as ServicesError where error.code == .providerQuota {
            // Deferred to when the quota allows it (any length), never dropped or counted as a failure.
            return .deferred(after: max(error.retryAfter ?? .seconds(1), .milliseconds(50)), reason: error.message)
        } catch let error as ServicesError where error.code.isPermanent {
            return .failed("\(error.code.rawValue): \(error.message)")
        } catch let error as Fence.Lost {
            return .failed(error.description)
        } catch {
            return .retry(Redacted.message(error))
        }
    }

    private func perform(_ action: Action) async throws -> ReconcileOutcome {
        switch action {
        case .createInstances(let pool, let count, let digest):
            return try await createInstances(pool: pool, count: count, digest: digest)
        case .startInstance(let id, let image):
            do {
                _ = try await services.createInstance(id, image: image)
            } catch let error as ServicesError where error.code == .providerQuota {
                throw error
            } catch {
                // Slow start: a failed create sends the pool back to one create per tick.
                if let pool: String = try? await db.query("SELECT pool FROM pool.instances WHERE instance_id = $1", [id]).first?.decode("pool") {
                    creates(pool, 0, false)
                }
                throw error
            }
            return .requeue(after: .milliseconds(200))
        case .markIdle(let id, let url):
            try await fence.transaction { c in
                let rows = try await c.query("""
                    UPDATE pool.instances SET state = 'idle', url = $2, ready_at = now(), updated_at = now()
                    WHERE instance_id = $1 AND state = 'provisioning' RETURNING instance_id
                    """, [id, url])
                if !rows.isEmpty { try await Events.record(c, kind: "Instance", name: id, reason: "Ready", message: "runtime ready at \(url)") }
            }
            return .converged
        case .markFailed(let id, let reason):
            try await fence.transaction { c in
                // Counted against the pool, its digest and generation: the crash-loop rule reads them.
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
            return .converged
        case .bindAgent(let agent, let pool):
            return try await bind(agent: agent, pool: pool)
        case .instanceLost(let agent, let id, let rebind):
            try await fence.transaction { c in
                // Rebind: the instance lets go of the agent, which binds a fresh one on the next
                // tick (woken at once); the lost one, failed and unbound, is torn down (its tools
                // released, its project's delete finding it gone). Fail: the agent keeps it, Failed.
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
            return .converged
        case .configure(let agent, let id):
            return try await configure(agent: agent, instance: id)
        case .provisionTool(let agent, let id, let tool):
            return try await provision(agent: agent, instance: id, tool: tool)
        case .deprovisionTool(let agent, let id, let tool, let resource):
            // "-": not known by id (never finished); services finds it by its name.
            // A plan from a stale tick finds it gone already: no second event.
            guard try await services.destroyTool(id, tool: tool, resourceID: resource ?? "-") else { return .converged }
            _ = try await fence.transaction { c in
                try await Events.record(c, kind: "Agent", name: agent, reason: "ToolReleased", message: "\(tool.rawValue): no longer in the template")
            }
            return .converged
        case .pushTemplate(let agent, let id, let generation):
            return try await pushTemplate(agent: agent, instance: id, generation: generation)
        case .sendCloneSummary(let agent, let id, let parent):
            return try await sendCloneSummary(agent: agent, instance: id, parent: parent)
        case .teardown(let id, let reason):
            try await fence.transaction { c in
                _ = try await c.query("UPDATE pool.instances SET state = 'deleting', updated_at = now() WHERE instance_id = $1", [id])
            }
            try await services.destroy(id)
            try await fence.transaction { c in
                _ = try await c.query("DELETE FROM pool.instances WHERE instance_id = $1", [id])
                try await Events.record(c, kind: "Instance", name: id, reason: "TornDown", message: reason)
            }
            return .converged
        case .removeAgent(let agent):
            // The claim's credentials go first: nothing of the agent stays behind.
            try await services.forgetUserConfig(agent: agent)
            try await fence.transaction { c in
                let rows = try await c.query("""
                    DELETE FROM pool.agents WHERE name = $1 AND deletion_requested_at IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM pool.instances WHERE agent = $1) RETURNING name
                    """, [agent])
                if !rows.isEmpty { try await Events.record(c, kind: "Agent", name: agent, reason: "Deleted", message: "teardown complete") }
            }
            return .converged
        case .deleteOrphan(let id):
            try await services.destroy(id)
            _ = try await fence.transaction { c in
                try await Events.record(c, kind: "Instance", name: id, type: "Warning", reason: "OrphanDeleted",
                                        message: "convos-agent-\(id) had no row; deleted")
            }
            return .converged
        }
    }

    /// Read your own writes: the count and the new intent rows are in one transaction, under the
    /// pool's row lock, so a stale view can never create past minIdle or maxInstances. The next
    /// tick (woken at once) starts each new instance.
    private func createInstances(pool: String, count: Int, digest: String) async throws -> ReconcileOutcome {
        let created: [String] = try await fence.transaction { c in
            guard let row = try await c.query("SELECT spec FROM pool.pools WHERE name = $1 FOR UPDATE", [pool]).first else { return [] }
            let spec = try JSONDecoder().decode(PoolSpec.self, from: try row.decode("spec", as: JSONText.self).data)
            let counts = try await c.query("""
                SELECT count(*) FILTER (WHERE state <> 'deleting')::int AS active,
                       count(*) FILTER (WHERE state = 'provisioning' OR (state = 'idle' AND image_digest = $2))::int AS coming,
                       (SELECT count(*)::int FROM pool.agents a WHERE a.deletion_requested_at IS NULL
                          AND NOT EXISTS (SELECT 1 FROM pool.instances i WHERE i.agent = a.name)) AS waiting
                FROM pool.instances WHERE pool = $1
                """, [pool, digest]).first!
            let wanted = spec.minIdle + (try counts.decode("waiting", as: Int.self))
            let n = min(count, wanted - (try counts.decode("coming", as: Int.self)), spec.maxInstances - (try counts.decode("active", as: Int.self)))
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
        // Only the intent rows here: each instance's external create runs under its own key
        // (`startInstance`), so no two actions ever create the same project at once.
        creates(pool, created.count, true)
        return .converged
    }

    private func bind(agent: String, pool: String) async throws -> ReconcileOutcome {
        let bound: Bool = try await fence.transaction { c in
            // The agent's row is locked first, so two binds of one agent (a plan from a stale tick,
            // a deposed leader's action still in flight) run one after the other; the second then
            // reads, in a statement of its own (so a fresh snapshot), that the first bound it.
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
        return bound ? .converged : .requeue(after: .milliseconds(500))
    }

    package init(db: PostgresPool, fence: Fence, services: any ServicesClient, creates: @escaping @Sendable (String, Int, Bool) -> Void, configured: @escaping @Sendable (String) -> Void) {
        self.db = db
        self.fence = fence
        self.services = services
        self.creates = creates
        self.configured = configured
    }
}
