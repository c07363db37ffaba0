import Foundation
import Postgres
import Resources

/// The seed's views of the pool claims come from (`/api/pool/counts`, `/api/pool/agents`).
package enum PoolViews {
    /// An instance as the seed's dashboard lists it.
    package struct Instance: Sendable {
        package let id: String
        package let state: InstanceState
        package let agent: String?
        package let agentName: String?
        package let inviteUrl: String?
        package let conversationId: String?
        package let url: String?
        package let createdAt: Date
        package let claimedAt: Date?
    }

    /// Instances of the claim pool by state.
    package static func counts(_ db: PostgresPool) async throws -> [InstanceState: Int] {
        var counts: [InstanceState: Int] = [:]
        for row in try await db.query("SELECT state, count(*)::int AS n FROM pool.instances WHERE pool = \(Claims.poolSQL) GROUP BY state").rows {
            counts[try row.decode("state")] = try row.decode("n")
        }
        return counts
    }

    /// Every instance of the claim pool, oldest first.
    package static func instances(_ db: PostgresPool) async throws -> [Instance] {
        try await db.query("""
            SELECT instance_id, state, agent, agent_name, invite_url, conversation_id, url, created_at, claimed_at
            FROM pool.instances WHERE pool = \(Claims.poolSQL) ORDER BY created_at, instance_id
            """).rows.map { row in
            Instance(id: try row.decode("instance_id"), state: try row.decode("state"), agent: try row.decode("agent"),
                     agentName: try row.decode("agent_name"), inviteUrl: try row.decode("invite_url"),
                     conversationId: try row.decode("conversation_id"), url: try row.decode("url"),
                     createdAt: try row.decode("created_at"), claimedAt: try row.decode("claimed_at"))
        }
    }
}
