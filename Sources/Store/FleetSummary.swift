import Foundation
import Postgres

/// What `/status` shows on a replica that does not lead (it keeps no tick state): the lease's
/// holder, and a few grouped counts of what the leader wrote.
package enum FleetSummary {
    package struct Leader: Sendable {
        package let holder: String
        package let fencingToken: Int
        package let expiresAt: Date
    }

    /// A failing key as the leader last wrote it (`pool.action_backoffs`).
    package struct Backoff: Sendable {
        package let key: String
        package let action: String?
        package let failures: Int
        package let lastError: String?
        package let nextAttempt: Date?

        package init(key: String, action: String? = nil, failures: Int, lastError: String? = nil, nextAttempt: Date? = nil) {
            self.key = key
            self.action = action
            self.failures = failures
            self.lastError = lastError
            self.nextAttempt = nextAttempt
        }
    }

    /// The current leader, if its lease has not run out.
    package static func leader(_ db: PostgresPool) async throws -> Leader? {
        try await db.query("""
            SELECT holder, fencing_token, expires_at FROM pool.leases WHERE name = $1 AND expires_at > now()
            """, [LeaderLease.name]).first.map { Leader(holder: try $0.decode("holder"), fencingToken: try $0.decode("fencing_token"), expiresAt: try $0.decode("expires_at")) }
    }

    /// Instances by pool and state.
    package static func instances(_ db: PostgresPool) async throws -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for row in try await db.query("SELECT pool, state, count(*)::int AS n FROM pool.instances GROUP BY 1, 2").rows {
            counts[try row.decode("pool"), default: [:]][try row.decode("state")] = try row.decode("n")
        }
        return counts
    }

    package static func backoffs(_ db: PostgresPool) async throws -> [Backoff] {
        try await db.query("SELECT key, action, failures, last_error, next_attempt_at FROM pool.action_backoffs").rows.map { row in
            Backoff(key: try row.decode("key"), action: try row.decode("action"), failures: try row.decode("failures"),
                    lastError: try row.decode("last_error"), nextAttempt: try row.decode("next_attempt_at"))
        }
    }

    /// Agents by phase (`Pending` before the first status write).
    package static func agentPhases(_ db: PostgresPool) async throws -> [String: Int] {
        var phases: [String: Int] = [:]
        for row in try await db.query("SELECT coalesce(status->>'phase', 'Pending') AS p, count(*)::int AS n FROM pool.agents GROUP BY 1").rows {
            phases[try row.decode("p")] = try row.decode("n")
        }
        return phases
    }
}
