import Foundation
import Postgres
import Resources

/// The rollout's writes (issue 25), each in one transaction under the leader's fence, each with its
/// event: a pool's rollout record, an instance's upgrade begun, committed, confirmed, rolled back.
/// Called by the reconciler's rollout steps (`Executor+Rollout`) and the operator routes.
extension InstanceWrites {
    /// A new target for the pool's claimed agents. A halt and an undo belong to the rollout they
    /// were said of and end with it; a pause is the operator's and stays (`Manual` pauses).
    package func startRollout(pool: String, digest: String, previous: String?, paused: Bool) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                INSERT INTO pool.rollouts (pool, target_digest, previous_digest, paused) VALUES ($1, $2, $3, $4)
                ON CONFLICT (pool) DO UPDATE SET target_digest = excluded.target_digest, previous_digest = excluded.previous_digest,
                    started_at = now(), paused = pool.rollouts.paused OR excluded.paused, halted_agent = NULL, halted_error = NULL, undo = false
                WHERE pool.rollouts.target_digest <> excluded.target_digest RETURNING paused
                """, [pool, digest, previous, paused])
            guard let held = try rows.first?.decode("paused", as: Bool.self) else { return }
            try await Events.record(c, kind: "Pool", name: pool, reason: "RolloutStarted",
                                    message: "claimed agents move to \(digest)" + (held ? "; paused until `rollout resume`" : ""))
        }
    }

    /// The upgrade's intent, before its commit: the digest it moves to and the one it leaves. True
    /// when its commit is to be made: a new upgrade, or one whose commit was not recorded (it
    /// failed). An upgrade committed already (a tick planned it from a stale read), a rollback, or
    /// another upgrade in flight: false, nothing to do.
    package func beginUpgrade(instance: String, agent: String, to digest: String) async throws -> Bool {
        try await fence.transaction { c in
            guard let row = try await c.query("""
                SELECT upgrade_phase, upgrade_to, upgrade_started_at IS NOT NULL AS committed FROM pool.instances
                WHERE instance_id = $1 AND agent = $2 AND state = 'claimed' FOR UPDATE
                """, [instance, agent]).first else { return false }
            let phase: String? = try row.decode("upgrade_phase")
            let to: String? = try row.decode("upgrade_to")
            let committed: Bool = try row.decode("committed")
            if phase != nil { return phase == UpgradePhase.upgrading.rawValue && to == digest && !committed }
            _ = try await c.query("""
                UPDATE pool.instances SET upgrade_phase = 'upgrading', upgrade_to = $2, upgrade_started_at = NULL, upgrade_error = NULL,
                    previous_digest = image_digest, upgrade_requested_at = NULL, updated_at = now()
                WHERE instance_id = $1
                """, [instance, digest])
            try await Events.record(c, kind: "Agent", name: agent, reason: "Upgrading", message: "runtime moving to \(digest)")
            return true
        }
    }

    /// The commit was made: from now on its runtime's readiness is waited for (and timed).
    package func committedUpgrade(instance: String) async throws {
        try await fence.transaction { c in
            _ = try await c.query("UPDATE pool.instances SET upgrade_started_at = now(), updated_at = now() WHERE instance_id = $1 AND upgrade_phase IS NOT NULL",
                                  [instance])
        }
    }

    /// Ready on the new digest with its own conversation: the instance runs it now. The event names
    /// the version its health last said (the tick records it).
    package func confirmUpgrade(instance: String, agent: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances i SET image_digest = upgrade_to, upgrade_phase = NULL, upgrade_to = NULL, upgrade_started_at = NULL,
                    upgrade_error = NULL, upgraded_at = now(), updated_at = now()
                WHERE i.instance_id = $1 AND i.upgrade_phase = 'upgrading'
                RETURNING i.image_digest, (SELECT h.runtime_version FROM pool.instance_health h WHERE h.instance_id = i.instance_id) AS version
                """, [instance])
            guard let digest: String = try rows.first?.decode("image_digest") else { return }
            let version: String? = try rows.first?.decode("version")
            try await Events.record(c, kind: "Agent", name: agent, reason: "Upgraded",
                                    message: "runtime on \(digest)" + (version.map { " (version \($0))" } ?? "") + ", its conversation kept")
        }
    }

    /// The upgrade failed: the instance goes back to the digest it ran (`image_digest`, unchanged
    /// meanwhile), and its pool's rollout halts on it. True when the rollback's commit is to be
    /// made (begun now, or begun before and its commit not recorded).
    @discardableResult
    package func beginRollback(instance: String, agent: String, error: String) async throws -> Bool {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET upgrade_phase = 'rollingBack', upgrade_error = $2, upgrade_started_at = NULL, updated_at = now()
                WHERE instance_id = $1 AND upgrade_phase = 'upgrading' RETURNING pool, upgrade_to
                """, [instance, error])
            guard let row = rows.first else {
                return try await !c.query("""
                    SELECT 1 FROM pool.instances WHERE instance_id = $1 AND upgrade_phase = 'rollingBack' AND upgrade_started_at IS NULL
                    """, [instance]).isEmpty
            }
            let pool: String = try row.decode("pool")
            _ = try await c.query("UPDATE pool.rollouts SET halted_agent = $2, halted_error = $3 WHERE pool = $1", [pool, agent, error])
            try await Events.record(c, kind: "Agent", name: agent, type: "Warning", reason: "UpgradeFailed",
                                    message: "upgrade to \(try row.decode("upgrade_to", as: String?.self) ?? "?") failed: \(error); rolling back")
            try await Events.record(c, kind: "Pool", name: pool, type: "Warning", reason: "RolloutFailed", message: "agent \(agent): \(error)")
            return true
        }
    }

    /// Ready again on the digest it ran before.
    package func finishRollback(instance: String, agent: String) async throws {
        try await fence.transaction { c in
            let rows = try await c.query("""
                UPDATE pool.instances SET upgrade_phase = NULL, upgrade_to = NULL, upgrade_started_at = NULL, updated_at = now()
                WHERE instance_id = $1 AND upgrade_phase = 'rollingBack' RETURNING image_digest
                """, [instance])
            guard let digest: String = try rows.first?.decode("image_digest") else { return }
            try await Events.record(c, kind: "Agent", name: agent, reason: "RolledBack", message: "runtime back on \(digest)")
        }
    }
}

/// An operator's word on a pool's rollout (`POST /v1/pools/NAME/rollout/{pause,resume,undo}`).
public enum RolloutCommand: String, WireEnum { case pause, resume, undo }

extension RolloutCommand {
    /// Applies the command in one transaction with its event; false when the pool has no rollout.
    package func apply(_ db: PostgresPool, pool: String) async throws -> Bool {
        let set: String
        switch self {
        case .pause: set = "paused = true"
        case .resume: set = "paused = false, halted_agent = NULL, halted_error = NULL"
        case .undo: set = "undo = true, paused = false, halted_agent = NULL, halted_error = NULL"
        }
        return try await db.transaction { c in
            guard try await !c.query("UPDATE pool.rollouts SET \(set) WHERE pool = $1 RETURNING pool", [pool]).isEmpty else { return false }
            try await Events.record(c, kind: "Pool", name: pool, reason: "Rollout" + rawValue.capitalized, message: "rollout \(rawValue) by an operator")
            return true
        }
    }
}
